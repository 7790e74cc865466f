//! The PostgreSQL adapters against a real server, one fresh database per test.

use chrono::{Duration, Utc};
use trachios_domain::ports::{OrderRepository, UserRepository};
use trachios_domain::{
    Actor, DomainError, Email, ItemDescription, Name, NewOrder, NewUser, OrderId, OrderStatus,
    PasswordHash, Role, StatusChange,
};
use trachios_postgres::*;

async fn fresh_pool() -> PgPool {
    let base = std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("trachios_pg_{}", uuid::Uuid::new_v4().simple());
    create_database_if_missing(&base, &name)
        .await
        .expect("PostgreSQL must be reachable for adapter tests");
    let url = with_database(&base, &name);
    migrate(&url).await.expect("migrations apply");
    build_pool(&url, &PoolSettings::default()).expect("pool")
}

async fn customer(users: &PgUserRepository, email: &str) -> i64 {
    users
        .insert(NewUser {
            name: Name::parse("Jo").unwrap(),
            email: Email::parse(email).unwrap(),
            password_hash: PasswordHash::new("phc".into()),
            role: Role::Customer,
        })
        .await
        .unwrap()
        .id
}

fn new_order(customer_id: i64, due_in: Duration) -> NewOrder {
    let now = Utc::now();
    NewOrder {
        customer_id,
        item_description: ItemDescription::parse("Laptop").unwrap(),
        created_at: now,
        next_step_at: now + due_in,
    }
}

#[tokio::test]
async fn users_round_trip_and_duplicate_emails_conflict() {
    let pool = fresh_pool().await;
    let users = PgUserRepository::new(pool);
    let id = customer(&users, "jo@x.io").await;
    let found = users.find_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        (found.email.as_str(), found.role),
        ("jo@x.io", Role::Customer)
    );
    let creds = users
        .find_credentials(&Email::parse("JO@x.io").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.password_hash.as_str(), "phc");
    let dup = users
        .insert(NewUser {
            name: Name::parse("Other").unwrap(),
            email: Email::parse("Jo@X.io").unwrap(),
            password_hash: PasswordHash::new("phc".into()),
            role: Role::Customer,
        })
        .await
        .unwrap_err();
    assert!(matches!(dup, DomainError::Conflict(_)));
    assert!(users.find_by_id(id + 100).await.unwrap().is_none());
}

#[tokio::test]
async fn orders_are_listed_newest_first_per_customer() {
    let pool = fresh_pool().await;
    let users = PgUserRepository::new(pool.clone());
    let orders = PgOrderRepository::new(pool);
    let a = customer(&users, "a@x.io").await;
    let b = customer(&users, "b@x.io").await;
    let first = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let other = orders
        .insert(new_order(b, Duration::seconds(60)))
        .await
        .unwrap();
    let second = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    assert_eq!((first.status, first.version), (OrderStatus::Created, 1));
    let mine: Vec<i64> = orders
        .list_by_customer(a)
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(mine, vec![second.id, first.id]);
    let all: Vec<i64> = orders
        .list_all()
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(all, vec![second.id, other.id, first.id]);
}

#[tokio::test]
async fn a_transition_applies_once_and_a_stale_version_loses() {
    let pool = fresh_pool().await;
    let users = PgUserRepository::new(pool.clone());
    let orders = PgOrderRepository::new(pool.clone());
    let a = customer(&users, "a@x.io").await;
    let order = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let id = OrderId::parse(order.id).unwrap();
    let change = StatusChange {
        order_id: id,
        expected_version: 1,
        from: OrderStatus::Created,
        to: OrderStatus::Cancelled,
        actor: Actor::Customer(a),
        at: Utc::now(),
        next_step_at: None,
    };
    let cancelled = orders.transition(change.clone()).await.unwrap().unwrap();
    assert_eq!(
        (cancelled.status, cancelled.version, cancelled.next_step_at),
        (OrderStatus::Cancelled, 2, None)
    );
    assert!(
        orders.transition(change).await.unwrap().is_none(),
        "the same compare-and-set must not apply twice"
    );
    let history = order_history(&pool, id).await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|e| (e.from, e.to, e.actor, e.actor_id))
        .collect();
    assert_eq!(
        steps,
        vec![
            (None, OrderStatus::Created, "customer", Some(a)),
            (
                Some(OrderStatus::Created),
                OrderStatus::Cancelled,
                "customer",
                Some(a)
            ),
        ]
    );
}

#[tokio::test]
async fn advance_due_moves_only_due_orders_one_step_and_records_system_events() {
    let pool = fresh_pool().await;
    let users = PgUserRepository::new(pool.clone());
    let orders = PgOrderRepository::new(pool.clone());
    let a = customer(&users, "a@x.io").await;
    let due = orders
        .insert(new_order(a, Duration::seconds(-1)))
        .await
        .unwrap();
    let later = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let step = Duration::seconds(10);
    let now = Utc::now();
    let moved = orders.advance_due(now, step, 100).await.unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        (moved[0].id, moved[0].status, moved[0].version),
        (due.id, OrderStatus::Dispatched, 2)
    );
    let next = moved[0].next_step_at.unwrap();
    assert!(
        (next - (now + step)).num_milliseconds().abs() <= 1,
        "next step is one step after the move"
    );
    assert!(
        orders.advance_due(now, step, 100).await.unwrap().is_empty(),
        "nothing is due twice"
    );
    let untouched = orders
        .find_by_id(OrderId::parse(later.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.status, OrderStatus::Created);

    // Far in the future everything walks to delivered and then stops.
    let far = now + Duration::days(1);
    for expected in [OrderStatus::InTransit, OrderStatus::Delivered] {
        let moved = orders
            .advance_due(far, Duration::zero(), 100)
            .await
            .unwrap();
        assert!(moved.iter().any(|o| o.id == due.id && o.status == expected));
    }
    let final_state = orders
        .find_by_id(OrderId::parse(due.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (final_state.status, final_state.next_step_at),
        (OrderStatus::Delivered, None)
    );
    let system_steps = order_history(&pool, OrderId::parse(due.id).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "system")
        .count();
    assert_eq!(system_steps, 3);
}

#[tokio::test]
async fn concurrent_workers_never_move_the_same_order_twice() {
    let pool = fresh_pool().await;
    let users = PgUserRepository::new(pool.clone());
    let orders = PgOrderRepository::new(pool.clone());
    let a = customer(&users, "a@x.io").await;
    for _ in 0..200 {
        orders
            .insert(new_order(a, Duration::seconds(-1)))
            .await
            .unwrap();
    }
    let now = Utc::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let orders = orders.clone();
            tokio::spawn(async move {
                let mut total = 0;
                loop {
                    let moved = orders
                        .advance_due(now, Duration::seconds(60), 25)
                        .await
                        .unwrap()
                        .len();
                    if moved == 0 {
                        return total;
                    }
                    total += moved;
                }
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(total, 200, "each due order moves exactly once");
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_not_a_crash() {
    let pool = build_pool(
        "postgres://postgres@127.0.0.1:1/none",
        &PoolSettings {
            max_size: 1,
            timeout: std::time::Duration::from_millis(300),
        },
    )
    .unwrap();
    let err = PgUserRepository::new(pool).find_by_id(1).await.unwrap_err();
    assert_eq!(err, DomainError::Unavailable);
}
