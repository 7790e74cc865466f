//! Accounts: stored as given, one per email whatever its case, changed field by field.

use chrono::Utc;
use trachios_domain::{DomainError, Email, Name, NewUser, PasswordHash, Role, UserChange, UserId};

use crate::{customer, Ports};

pub async fn accounts_round_trip_and_duplicate_emails_conflict(ports: Ports) {
    let users = ports.users.as_ref();
    let id = customer(users, "jo@x.io").await;
    let found = users.find_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        (
            found.email.as_str(),
            found.name.as_str(),
            found.role,
            found.disabled
        ),
        ("jo@x.io", "Jo", Role::Customer, false)
    );
    let creds = users
        .find_credentials(&Email::parse("JO@x.io").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((creds.user.id, creds.password_hash.as_str()), (id, "phc"));
    assert!(users
        .find_credentials(&Email::parse("nobody@x.io").unwrap())
        .await
        .unwrap()
        .is_none());
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

pub async fn an_update_changes_only_the_named_fields(ports: Ports) {
    let users = ports.users.as_ref();
    let id = customer(users, "jo@x.io").await;
    let before = users.find_by_id(id).await.unwrap().unwrap();
    let at = Utc::now() + chrono::Duration::seconds(5);
    let promoted = users
        .update(
            id,
            UserChange {
                role: Some(Role::Admin),
                disabled: None,
            },
            at,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((promoted.role, promoted.disabled), (Role::Admin, false));
    assert_eq!(promoted.created_at, before.created_at);
    assert!(promoted.updated_at > before.updated_at, "updated_at moves");
    let disabled = users
        .update(
            id,
            UserChange {
                role: None,
                disabled: Some(true),
            },
            at,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((disabled.role, disabled.disabled), (Role::Admin, true));
    assert_eq!(users.find_by_id(id).await.unwrap().unwrap(), disabled);
    let nobody = UserId::parse(id.get() + 1000).unwrap();
    assert!(users
        .update(nobody, UserChange::default(), at)
        .await
        .unwrap()
        .is_none());
}

pub async fn emails_are_read_for_the_accounts_asked_for_that_exist(ports: Ports) {
    let users = ports.users.as_ref();
    let ann = customer(users, "ann@x.io").await;
    let bo = customer(users, "bo@x.io").await;
    customer(users, "cy@x.io").await;
    let missing = UserId::parse(bo.get() + 100).unwrap();
    let mut found: Vec<(i64, String)> = users
        .emails(&[bo, missing, ann])
        .await
        .unwrap()
        .into_iter()
        .map(|(id, email)| (id.get(), email.as_str().to_owned()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (ann.get(), "ann@x.io".to_owned()),
            (bo.get(), "bo@x.io".to_owned())
        ]
    );
    assert!(users.emails(&[]).await.unwrap().is_empty());
}
