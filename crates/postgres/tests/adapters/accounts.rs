//! Account state against PostgreSQL: roles, disabled flags and revoked tokens.

use chrono::{Duration, Utc};
use trachios_domain::ports::{AccountStates, UserRepository};
use trachios_domain::{Role, TokenId, UserChange, UserId};
use trachios_postgres::PgAccountStates;
use trachios_test_support::psql;

use crate::fixture::{fixture, Fixture};

fn token(id: &str) -> TokenId {
    TokenId::new(id.to_owned())
}

#[tokio::test]
async fn status_follows_role_changes_disabling_and_revocation() {
    let Fixture { pool, users, a, .. } = fixture().await;
    let states = PgAccountStates::new(pool);
    let now = states.status(a, &token("t1")).await.unwrap().unwrap();
    assert_eq!(
        (now.role, now.disabled, now.token_revoked),
        (Role::Customer, false, false)
    );

    let promoted = users
        .update(
            a,
            UserChange {
                role: Some(Role::Admin),
                disabled: None,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((promoted.role, promoted.disabled), (Role::Admin, false));
    let disabled = users
        .update(
            a,
            UserChange {
                role: None,
                disabled: Some(true),
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (disabled.role, disabled.disabled),
        (Role::Admin, true),
        "role kept"
    );
    let now = states.status(a, &token("t1")).await.unwrap().unwrap();
    assert_eq!((now.role, now.disabled), (Role::Admin, true));

    let expires = Utc::now() + Duration::hours(1);
    states.revoke(a, &token("t1"), expires).await.unwrap();
    states.revoke(a, &token("t1"), expires).await.unwrap();
    assert!(
        states
            .status(a, &token("t1"))
            .await
            .unwrap()
            .unwrap()
            .token_revoked
    );
    assert!(
        !states
            .status(a, &token("t2"))
            .await
            .unwrap()
            .unwrap()
            .token_revoked
    );

    let nobody = UserId::parse(a.get() + 1000).unwrap();
    assert_eq!(states.status(nobody, &token("t1")).await.unwrap(), None);
    assert!(users
        .update(nobody, UserChange::default(), Utc::now())
        .await
        .unwrap()
        .is_none());
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
