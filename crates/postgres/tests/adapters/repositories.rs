//! The repositories' single-row operations and the lifecycle batch.

use chrono::{Duration, SubsecRound, Utc};
use trachios_domain::ports::{OrderRepository, UserRepository};
use trachios_domain::{
    Actor, ActorKind, AutomaticStep, DomainError, DueSteps, Email, Name, NewUser, OrderStatus,
    PasswordHash, Role, UserId,
};
use trachios_postgres::*;

use crate::fixture::{customer, fixture, fresh_pool, new_order, Fixture};

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
    assert!(matches!(dup, DomainError::EmailTaken), "{dup:?}");
    let unknown = UserId::parse(id.get() + 100).unwrap();
    assert!(users.find_by_id(unknown).await.unwrap().is_none());
}

#[tokio::test]
async fn a_transition_applies_once_and_a_stale_version_loses() {
    let Fixture {
        pool, orders, a, ..
    } = fixture().await;
    let order = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let id = order.id;
    let owner = trachios_domain::Caller {
        user_id: a,
        role: Role::Customer,
    };
    let change = order
        .cancel(owner, Utc::now(), Duration::seconds(60))
        .unwrap();
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
            (None, OrderStatus::Created, ActorKind::Customer, Some(a)),
            (
                Some(OrderStatus::Created),
                OrderStatus::Cancelled,
                ActorKind::Customer,
                Some(a)
            ),
        ]
    );
}

#[tokio::test]
async fn advance_due_moves_only_due_orders_one_step_and_records_system_events() {
    let Fixture {
        pool, orders, a, ..
    } = fixture().await;
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
    let moved = orders
        .advance_due(&DueSteps::at(now, step), 100)
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].was_due_at,
        due.next_step_at.unwrap(),
        "the step reports when it had been due, for the lag metric"
    );
    let moved: Vec<_> = moved.into_iter().map(|a| a.order).collect();
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
        orders
            .advance_due(&DueSteps::at(now, step), 100)
            .await
            .unwrap()
            .is_empty(),
        "nothing is due twice"
    );
    let untouched = orders.find_by_id(later.id).await.unwrap().unwrap();
    assert_eq!(untouched.status, OrderStatus::Created);

    // Far in the future everything walks to delivered and then stops.
    let far = now + Duration::days(1);
    for expected in [OrderStatus::InTransit, OrderStatus::Delivered] {
        let moved = orders
            .advance_due(&DueSteps::at(far, Duration::zero()), 100)
            .await
            .unwrap();
        assert!(moved
            .iter()
            .any(|a| a.order.id == due.id && a.order.status == expected));
    }
    let final_state = orders.find_by_id(due.id).await.unwrap().unwrap();
    assert_eq!(
        (final_state.status, final_state.next_step_at),
        (OrderStatus::Delivered, None)
    );
    let system_steps = order_history(&pool, due.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == ActorKind::System && e.actor_id.is_none())
        .count();
    assert_eq!(system_steps, 3);
}

#[tokio::test]
async fn concurrent_workers_never_move_the_same_order_twice() {
    let Fixture { orders, a, .. } = fixture().await;
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
                        .advance_due(&DueSteps::at(now, Duration::seconds(60)), 25)
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
    let err = PgUserRepository::new(pool)
        .find_by_id(UserId::parse(1).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn an_order_is_stored_exactly_as_the_domain_placed_it() {
    let Fixture {
        pool, orders, a, ..
    } = fixture().await;
    let mut placed = new_order(a, Duration::seconds(60));
    // Whatever the domain decides is what is stored: here, an unusual start.
    placed.status = OrderStatus::Dispatched;
    placed.version = 5;
    placed.actor = Actor::System;
    let stored = orders.insert(placed.clone()).await.unwrap();
    assert_eq!(
        (stored.status, stored.version, stored.next_step_at),
        (
            OrderStatus::Dispatched,
            5,
            // PostgreSQL keeps microseconds.
            placed.next_step_at.map(|t| t.trunc_subsecs(6))
        )
    );
    let history = order_history(&pool, stored.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].from,
            history[0].to,
            history[0].actor,
            history[0].actor_id
        ),
        (None, OrderStatus::Dispatched, ActorKind::System, None)
    );
}

#[tokio::test]
async fn the_lifecycle_follows_the_step_table_it_is_given() {
    let Fixture { orders, a, .. } = fixture().await;
    let due = orders
        .insert(new_order(a, Duration::seconds(-1)))
        .await
        .unwrap();
    let now = Utc::now();
    // A table the domain does not have: created jumps straight to delivered.
    let table = DueSteps {
        now,
        steps: vec![AutomaticStep {
            from: OrderStatus::Created,
            to: OrderStatus::Delivered,
            next_step_at: None,
        }],
        actor: Actor::System,
    };
    let moved = orders.advance_due(&table, 10).await.unwrap();
    assert_eq!(moved.len(), 1);
    let moved = &moved[0].order;
    assert_eq!(
        (moved.id, moved.status, moved.next_step_at),
        (due.id, OrderStatus::Delivered, None)
    );
}

#[tokio::test]
async fn a_write_is_acknowledged_only_once_it_has_committed() {
    let Fixture { orders, a, url, .. } = fixture().await;
    let placed = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    // A check deferred to the commit, which for a single statement comes after its rows have
    // gone out (at the protocol's Sync): like a session terminated while its commit is
    // queued, the commit fails after the client has seen the result.
    trachios_test_support::psql(
        &url,
        "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$; \
         CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON order_events \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()",
    )
    .await;
    assert!(orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .is_err());
    let owner = trachios_domain::Caller {
        user_id: a,
        role: Role::Customer,
    };
    let change = placed
        .cancel(owner, Utc::now(), Duration::seconds(60))
        .unwrap();
    assert!(orders.transition(change).await.is_err());
    let claim = trachios_domain::KeyClaim {
        key: trachios_domain::IdempotencyKey::parse("k").unwrap(),
        fingerprint: trachios_domain::RequestFingerprint([0; 32]),
        expires_at: Utc::now() + Duration::hours(1),
    };
    assert!(orders
        .insert_keyed(new_order(a, Duration::seconds(60)), claim)
        .await
        .is_err());
    let stored =
        trachios_test_support::psql(&url, "SELECT count(*), min(status::text) FROM orders").await;
    assert_eq!(stored.trim(), "1|created", "nothing was written");
}
