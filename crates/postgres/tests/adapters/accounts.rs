//! Account state against PostgreSQL: what the port contract cannot see.

use chrono::{Duration, Utc};
use trachios_domain::ports::AccountStates;
use trachios_domain::TokenId;
use trachios_postgres::PgAccountStates;
use trachios_test_support::psql;

use crate::fixture::{fixture, Fixture};

fn token(id: &str) -> TokenId {
    TokenId::new(id.to_owned())
}

#[tokio::test]
async fn revocations_of_expired_tokens_are_purged_by_later_logouts() {
    let Fixture { pool, a, url, .. } = fixture().await;
    let states = PgAccountStates::new(pool);
    states
        .revoke(a, &token("old"), Utc::now() - Duration::seconds(1))
        .await
        .unwrap();
    states
        .revoke(a, &token("new"), Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    let left = psql(
        &url,
        "SELECT string_agg(jti, ',' ORDER BY jti) FROM revoked_tokens",
    )
    .await;
    assert_eq!(left.trim(), "new");
}
