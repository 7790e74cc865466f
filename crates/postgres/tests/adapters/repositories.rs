//! What only PostgreSQL can show: outages and commit-time failures (the repositories'
//! behaviour is the port contract's, in trachios-contract).

use chrono::{Duration, Utc};
use trachios_domain::ports::{OrderRepository, UserRepository};
use trachios_domain::{DomainError, Role, UserId};
use trachios_postgres::*;

use crate::fixture::{fixture, new_order, refuse_commits, Fixture};

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
async fn a_write_is_acknowledged_only_once_it_has_committed() {
    let Fixture { orders, a, url, .. } = fixture().await;
    let placed = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    // A check deferred to the commit, which for a single statement comes after its rows have
    // gone out (at the protocol's Sync): like a session terminated while its commit is
    // queued, the commit fails after the client has seen the result.
    refuse_commits(&url).await;
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
