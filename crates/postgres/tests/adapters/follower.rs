//! The change feed's database half: each process follows `order_events` and publishes the
//! orders as each change left them.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use tokio::sync::watch;
use trachios_domain::ports::{ChangeFeed, ChangeSubscription, OrderRepository};
use trachios_domain::{Caller, EventKind, FeedEvent, FeedScope, Order, OrderChange, Role, UserId};
use trachios_memory::ChangeHub;
use trachios_postgres::*;

use crate::fixture::{fixture, new_order, Fixture};

const STEP: chrono::Duration = chrono::Duration::seconds(60);

fn owner(id: UserId) -> Caller {
    Caller {
        user_id: id,
        role: Role::Customer,
    }
}

/// A hub fed by a running follower on the fixture's database; dropping the sender stops it.
async fn followed_hub(f: &Fixture) -> (ChangeHub, watch::Sender<bool>) {
    followed_hub_on(f.pool.clone()).await
}

async fn followed_hub_on(pool: PgPool) -> (ChangeHub, watch::Sender<bool>) {
    let hub = ChangeHub::new();
    let follower = ChangeFollower::new(
        pool,
        Arc::new(hub.clone()),
        FollowerSettings {
            poll_every: Duration::from_millis(20),
            ..FollowerSettings::default()
        },
    );
    let (stop, stopped) = watch::channel(false);
    let mut started = follower.started();
    tokio::spawn(follower.run(stopped));
    // Changes committed before its first read are not its business: wait for that read.
    tokio::time::timeout(Duration::from_secs(10), started.wait_for(|s| *s))
        .await
        .expect("the follower starts within 10 s")
        .expect("the follower runs");
    (hub, stop)
}

async fn next_change(sub: &mut Box<dyn ChangeSubscription>) -> OrderChange {
    match sub.next(Duration::from_secs(5)).await {
        FeedEvent::Changed(change) => OrderChange::clone(&change),
        other => panic!("expected a change within 5 s, got {other:?}"),
    }
}

async fn next_order(sub: &mut Box<dyn ChangeSubscription>) -> Order {
    next_change(sub).await.order
}

#[tokio::test]
async fn every_change_is_published_whole_in_version_order() {
    let f = fixture().await;
    let (hub, _stop) = followed_hub(&f).await;
    let mut mine = hub.subscribe(FeedScope::Customer(f.a));
    let placed = f.orders.insert(new_order(f.a, STEP)).await.unwrap();
    let cancelled = f
        .orders
        .transition(placed.cancel(owner(f.a), Utc::now(), STEP).unwrap())
        .await
        .unwrap()
        .unwrap();
    let change = |order, kind| OrderChange { order, kind };
    assert_eq!(
        next_change(&mut mine).await,
        change(placed, EventKind::Created)
    );
    assert_eq!(
        next_change(&mut mine).await,
        change(cancelled, EventKind::StatusChanged)
    );
}

#[tokio::test]
async fn a_change_that_commits_after_a_later_one_is_still_published() {
    let f = fixture().await;
    let (hub, _stop) = followed_hub(&f).await;
    let mut all = hub.subscribe(FeedScope::All);
    // A transaction takes the next event id and holds it uncommitted...
    let mut slow = trachios_postgres::connect(&f.url).await.unwrap();
    slow.batch_execute(&format!(
        "BEGIN;
         INSERT INTO orders (id, customer_id, item_description, next_step_at)
             VALUES (1000, {a}, 'Late', now() + interval '1 hour');
         INSERT INTO order_events (order_id, kind, to_status, actor, actor_id, version, next_step_at)
             VALUES (1000, 'created', 'created', 'customer', {a}, 1, now() + interval '1 hour');",
        a = f.a.get()
    ))
    .await
    .unwrap();
    // ...while a later one commits and is published first.
    let quick = f.orders.insert(new_order(f.a, STEP)).await.unwrap();
    // The follower has read past the slow one's id: it is a hole now.
    assert_eq!(next_order(&mut all).await, quick);
    slow.batch_execute("COMMIT").await.unwrap();
    let late = next_order(&mut all).await;
    assert_eq!((late.id.get(), late.version), (1000, 1));
}

#[tokio::test]
async fn changes_committed_while_the_follower_cannot_read_are_published_after() {
    let f = fixture().await;
    let (hub, _stop) = followed_hub(&f).await;
    let mut all = hub.subscribe(FeedScope::All);
    // Every session of the database goes, the follower's pooled connection included.
    let mut admin = trachios_postgres::connect(&f.url).await.unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let mut placed = None;
    for _ in 0..50 {
        match f.orders.insert(new_order(f.a, STEP)).await {
            Ok(order) => {
                placed = Some(order);
                break;
            }
            // The repository's own connection may have been one of those terminated.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let placed = placed.expect("the database accepts writes again");
    assert_eq!(next_order(&mut all).await, placed);
}

#[tokio::test]
async fn a_lifecycle_batch_reaches_a_subscriber_of_every_order_whole() {
    let f = fixture().await;
    for _ in 0..1500 {
        f.orders
            .insert(new_order(f.a, chrono::Duration::zero()))
            .await
            .unwrap();
    }
    let (hub, _stop) = followed_hub(&f).await;
    let mut all = hub.subscribe(FeedScope::All);
    let moved = f
        .orders
        .advance_due(&trachios_domain::DueSteps::at(Utc::now(), STEP), 1000)
        .await
        .unwrap();
    assert_eq!(moved.len(), 1000);
    let mut heard = Vec::new();
    for _ in 0..1000 {
        heard.push(next_order(&mut all).await);
    }
    heard.sort_by_key(|o| o.id);
    let mut expected: Vec<_> = moved.into_iter().map(|a| a.order).collect();
    expected.sort_by_key(|o| o.id);
    assert_eq!(heard, expected);
}

/// The follower's poll was once a prepared statement: PostgreSQL kept the plan it made while
/// `order_events` was small, a sequential scan comparing every event with every watched hole
/// one by one, and after a burst of writes each poll took seconds and the feed fell minutes
/// behind. Here the follower's connections keep generic plans from their first poll (what
/// PostgreSQL settles on for a repeated statement), then it has 5,000 holes to watch and
/// 100,000 events to read; a change committed after them must still arrive promptly.
#[tokio::test]
async fn the_feed_keeps_up_after_the_table_grew_past_its_first_plans() {
    let f = fixture().await;
    // Statistics taken while the table was small, as autovacuum takes them early in a
    // database's life: an empty, never-analyzed table is assumed to be ten pages.
    for _ in 0..3 {
        f.orders.insert(new_order(f.a, STEP)).await.unwrap();
    }
    let mut conn = trachios_postgres::connect(&f.url).await.unwrap();
    conn.batch_execute("ANALYZE order_events").await.unwrap();
    let separator = if f.url.contains('?') { '&' } else { '?' };
    let generic = format!(
        "{}{separator}options=-c%20plan_cache_mode%3Dforce_generic_plan",
        f.url
    );
    let pool = build_pool(&generic, &PoolSettings::default()).unwrap();
    let (hub, _stop) = followed_hub_on(pool).await;
    let b = crate::fixture::customer(&f.users, "b@x.io").await;
    let mut theirs = hub.subscribe(FeedScope::Customer(b));
    conn.batch_execute(&format!(
        "SELECT setval('order_events_id_seq', nextval('order_events_id_seq') + 5000);
         INSERT INTO orders (customer_id, item_description, next_step_at)
             SELECT {a}, 'Bulk ' || n, now() + interval '1 hour' FROM generate_series(1, 100000) AS n;
         INSERT INTO order_events (order_id, kind, to_status, actor, actor_id, version, next_step_at)
             SELECT id, 'created', 'created', 'customer', {a}, 1, next_step_at FROM orders
             WHERE item_description LIKE 'Bulk %' ORDER BY id;",
        a = f.a.get()
    ))
    .await
    .unwrap();
    let placed = f.orders.insert(new_order(b, STEP)).await.unwrap();
    // Well under a second when each poll looks the holes up by key; with the kept plan each
    // poll took seconds and this waited for minutes.
    match theirs.next(Duration::from_secs(20)).await {
        FeedEvent::Changed(change) => assert_eq!(change.order, placed),
        other => panic!("expected the change within 20 s, got {other:?}"),
    }
}
