//! What only PostgreSQL can show: an unreachable server (the repositories' behaviour is the
//! port contract's, in trachios-contract; commit-time failures are in `commits.rs`).

use trachios_domain::ports::UserRepository;
use trachios_domain::{DomainError, UserId};
use trachios_postgres::*;

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
