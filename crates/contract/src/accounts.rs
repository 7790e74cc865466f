//! Account state: roles, disabled flags and revoked tokens as every request sees them.

use chrono::{Duration, Utc};
use trachios_domain::{Role, TokenId, UserChange, UserId};

use crate::{customer, Ports};

fn token(id: &str) -> TokenId {
    TokenId::new(id.to_owned())
}

pub async fn status_follows_role_changes_disabling_and_revocation(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let states = ports.accounts.as_ref();
    let now = states.status(a, &token("t1")).await.unwrap().unwrap();
    assert_eq!(
        (now.role, now.disabled, now.token_revoked),
        (Role::Customer, false, false)
    );
    ports
        .users
        .update(
            a,
            UserChange {
                role: Some(Role::Admin),
                disabled: Some(true),
            },
            Utc::now(),
        )
        .await
        .unwrap();
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
    // Purging revocations of tokens that expired must not forget live ones.
    states
        .revoke(a, &token("old"), Utc::now() - Duration::seconds(1))
        .await
        .unwrap();
    states.revoke(a, &token("t3"), expires).await.unwrap();
    for live in ["t1", "t3"] {
        assert!(
            states
                .status(a, &token(live))
                .await
                .unwrap()
                .unwrap()
                .token_revoked
        );
    }

    let nobody = UserId::parse(a.get() + 1000).unwrap();
    assert_eq!(states.status(nobody, &token("t1")).await.unwrap(), None);
}
