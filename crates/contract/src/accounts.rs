//! Account state: roles, disabled flags and revoked tokens as every request sees them.

use chrono::{DateTime, Duration, Utc};
use trachios_domain::{Email, PasswordHash, Role, TokenId, UserChange, UserId};

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

/// Whether a token issued at `issued_at` still opens a session.
async fn admitted(ports: &Ports, user: UserId, jti: &str, issued_at: DateTime<Utc>) -> bool {
    ports
        .accounts
        .status(user, &token(jti))
        .await
        .unwrap()
        .is_some_and(|status| status.admits(issued_at))
}

pub async fn ending_sessions_refuses_tokens_issued_before_and_disabling_is_for_good(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let b = customer(ports.users.as_ref(), "b@x.io").await;
    let before = Utc::now() - Duration::minutes(5);
    // To the millisecond, as tokens say when they were issued.
    let ended_at = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    ports
        .accounts
        .end_sessions(a, ended_at, &token("t1"))
        .await
        .unwrap();
    assert!(!admitted(&ports, a, "t1", before).await, "the caller's own");
    assert!(!admitted(&ports, a, "t2", before).await, "every other");
    assert!(
        !admitted(&ports, a, "t2", ended_at).await,
        "issued at that instant"
    );
    let later = ended_at + Duration::milliseconds(1);
    assert!(admitted(&ports, a, "t3", later).await, "issued after");
    assert!(admitted(&ports, b, "t1", before).await, "another account's");
    // An earlier end recorded late does not bring tokens back.
    ports
        .accounts
        .end_sessions(a, before, &token("t1"))
        .await
        .unwrap();
    assert!(!admitted(&ports, a, "t2", ended_at).await);

    let disabled_at = Utc::now() + Duration::seconds(1);
    let disable = |disabled| UserChange {
        role: None,
        disabled: Some(disabled),
    };
    ports
        .users
        .update(b, disable(true), disabled_at)
        .await
        .unwrap();
    ports
        .users
        .update(b, disable(false), disabled_at + Duration::seconds(1))
        .await
        .unwrap();
    assert!(
        !admitted(&ports, b, "t1", before).await,
        "enabling again does not revive a token"
    );
    assert!(admitted(&ports, b, "t9", disabled_at + Duration::seconds(2)).await);
}

pub async fn a_password_change_replaces_the_hash_and_keeps_only_the_changing_token(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let before = Utc::now() - Duration::minutes(5);
    let changed_at = Utc::now();
    let changed = ports
        .users
        .change_password(
            a,
            PasswordHash::new("new-phc".into()),
            changed_at,
            &token("t1"),
        )
        .await
        .unwrap();
    assert!(changed);
    let email = Email::parse("a@x.io").unwrap();
    let credentials = ports
        .users
        .find_credentials(&email)
        .await
        .unwrap()
        .expect("the account");
    assert_eq!(credentials.password_hash.as_str(), "new-phc");
    assert!(
        admitted(&ports, a, "t1", before).await,
        "the token that changed it"
    );
    assert!(!admitted(&ports, a, "t2", before).await, "every other");
    // Logging out everywhere afterwards ends the kept token too.
    ports
        .accounts
        .end_sessions(a, Utc::now(), &token("t2"))
        .await
        .unwrap();
    assert!(!admitted(&ports, a, "t1", before).await);
    let nobody = UserId::parse(a.get() + 1000).unwrap();
    assert!(!ports
        .users
        .change_password(
            nobody,
            PasswordHash::new("x".into()),
            changed_at,
            &token("t1")
        )
        .await
        .unwrap());
}
