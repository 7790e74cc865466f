//! The change feed's database half: what each change notifies, and the listener that turns
//! notifications into orders for the process's subscribers.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::watch;
use trachios_domain::ports::{ChangeFeed, ChangeSubscription, OrderRepository};
use trachios_domain::{Caller, DueSteps, FeedEvent, FeedScope, Order, OrderStatus, Role, UserId};
use trachios_memory::ChangeHub;
use trachios_postgres::*;

use crate::fixture::{fixture, new_order, Fixture};

const STEP: chrono::Duration = chrono::Duration::seconds(60);

async fn listening(url: &str) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connects");
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await
        .expect("listens");
    conn
}

/// Every payload that arrives within `wait` of the last one.
async fn payloads(conn: &mut AsyncPgConnection, wait: Duration) -> Vec<String> {
    let mut heard = Vec::new();
    let mut stream = std::pin::pin!(conn.notifications_stream());
    while let Ok(Some(Ok(n))) = tokio::time::timeout(wait, stream.next()).await {
        heard.push(n.payload);
    }
    heard
}

fn owner(id: UserId) -> Caller {
    Caller {
        user_id: id,
        role: Role::Customer,
    }
}

#[tokio::test]
async fn every_change_notifies_what_it_changed_and_a_lost_race_notifies_nothing() {
    let Fixture { orders, a, url, .. } = fixture().await;
    let mut conn = listening(&url).await;
    let placed = orders.insert(new_order(a, STEP)).await.unwrap();
    let change = placed.cancel(owner(a), Utc::now(), STEP).unwrap();
    let cancelled = orders.transition(change.clone()).await.unwrap().unwrap();
    assert!(
        orders.transition(change).await.unwrap().is_none(),
        "a stale version loses"
    );

    let heard: Vec<OrderChanged> = payloads(&mut conn, Duration::from_millis(500))
        .await
        .iter()
        .flat_map(|p| parse_payload(p).expect("a payload this version wrote"))
        .collect();
    let expected = |o: &Order| OrderChanged {
        id: o.id,
        customer_id: o.customer_id,
        version: o.version,
        status: o.status,
        updated_at: o.updated_at,
        next_step_at: o.next_step_at,
    };
    assert_eq!(heard, vec![expected(&placed), expected(&cancelled)]);
}

#[tokio::test]
async fn a_lifecycle_batch_notifies_in_payloads_under_the_limit() {
    let Fixture { orders, a, url, .. } = fixture().await;
    for _ in 0..150 {
        orders
            .insert(new_order(a, chrono::Duration::zero()))
            .await
            .unwrap();
    }
    let mut conn = listening(&url).await;
    let moved = orders
        .advance_due(&DueSteps::at(Utc::now(), STEP), 1000)
        .await
        .unwrap();
    assert_eq!(moved.len(), 150);
    let heard = payloads(&mut conn, Duration::from_millis(500)).await;
    assert_eq!(heard.len(), 3, "64 orders per payload");
    assert!(heard.iter().all(|p| p.len() < 8000));
    let mut records: Vec<OrderChanged> = heard
        .iter()
        .flat_map(|p| parse_payload(p).expect("a payload this version wrote"))
        .collect();
    records.sort_by_key(|r| r.id);
    assert_eq!(records.len(), 150);
    assert!(records
        .iter()
        .all(|r| r.status == OrderStatus::Dispatched && r.version == 2));
}

/// A hub fed by a running listener on the fixture's database.
async fn listened_hub(f: &Fixture) -> (ChangeHub, watch::Sender<bool>) {
    let hub = ChangeHub::new();
    let listener = ChangeListener::new(
        &f.url,
        f.pool.clone(),
        Arc::new(hub.clone()),
        ListenerSettings::default(),
    );
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(listener.run(stopped));
    // The listener is up once its session is.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listener_pid(&f.url).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listener connects"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (hub, stop)
}

async fn listener_pid(url: &str) -> Option<i32> {
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let mut conn = AsyncPgConnection::establish(url).await.ok()?;
    // Its last statement is `SELECT now()` once it listens (and after each health check).
    let pids: Vec<Pid> = diesel::sql_query(format!(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{LISTENER_APPLICATION_NAME}' \
         AND datname = current_database() AND query LIKE 'SELECT now()%'"
    ))
    .load(&mut conn)
    .await
    .ok()?;
    pids.into_iter().next().map(|p| p.pid)
}

async fn next_change(sub: &mut Box<dyn ChangeSubscription>) -> Order {
    loop {
        match sub.next(Duration::from_secs(5)).await {
            FeedEvent::Changed(order) => return Order::clone(&order),
            FeedEvent::Idle => panic!("no change arrived within 5 s"),
            FeedEvent::Gap => continue,
            FeedEvent::Closed => panic!("the feed closed"),
        }
    }
}

#[tokio::test]
async fn the_listener_publishes_each_change_whole_to_its_subscribers() {
    let f = fixture().await;
    let (hub, _stop) = listened_hub(&f).await;
    let mut mine = hub.subscribe(FeedScope::Customer(f.a));
    let placed = f.orders.insert(new_order(f.a, STEP)).await.unwrap();
    let cancelled = f
        .orders
        .transition(placed.cancel(owner(f.a), Utc::now(), STEP).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next_change(&mut mine).await, placed);
    assert_eq!(next_change(&mut mine).await, cancelled);
}

#[tokio::test]
async fn after_losing_its_connection_the_listener_reconnects_and_misses_nothing() {
    let f = fixture().await;
    let (hub, _stop) = listened_hub(&f).await;
    let mut all = hub.subscribe(FeedScope::All);
    let pid = listener_pid(&f.url).await.expect("a listener session");
    let mut admin = AsyncPgConnection::establish(&f.url).await.unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
        .execute(&mut admin)
        .await
        .unwrap();
    // Committed while the listener is away: heard through its catch-up, not a notification.
    let placed = f.orders.insert(new_order(f.a, STEP)).await.unwrap();
    assert_eq!(next_change(&mut all).await, placed);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listener_pid(&f.url).await.is_none_or(|p| p == pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listener reconnects"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let later = f.orders.insert(new_order(f.a, STEP)).await.unwrap();
    assert_eq!(next_change(&mut all).await, later);
}
