//! No write is acknowledged before it commits. A single statement's implicit transaction
//! commits at the protocol's Sync, after its rows have gone out; a check deferred to the
//! commit fails there, as a session terminated while its commit is queued does. Every write
//! path of every repository must then answer an error and leave nothing behind.

use chrono::{Duration, Utc};
use trachios_domain::ports::{AccountStates, OrderRepository, UserRepository, WebhookRepository};
use trachios_domain::{
    AttemptRecord, DueSteps, NewWebhook, NextStep, Role, Subscription, TokenId, UserChange,
    WebhookUrl,
};
use trachios_postgres::{PgAccountStates, PgWebhookRepository};
use trachios_test_support::psql;

use crate::fixture::{fixture, new_order, refuse_commits_on, Fixture};

async fn count(url: &str, sql: &str) -> String {
    psql(url, sql).await.trim().to_owned()
}

fn new_webhook() -> NewWebhook {
    NewWebhook {
        url: WebhookUrl::parse("https://hooks.example.com/in").expect("valid url"),
        subscription: Subscription::DEFAULT,
        secret: trachios_domain::SealedSecret::new("secret"),
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn an_order_write_is_acknowledged_only_once_it_has_committed() {
    let Fixture { orders, a, url, .. } = fixture().await;
    let placed = orders
        .insert(new_order(a, Duration::seconds(-1)))
        .await
        .unwrap();
    psql(
        &url,
        &format!(
            "INSERT INTO idempotency_keys \
             (user_id, key, fingerprint, order_id, created_at, expires_at) \
             VALUES ({}, 'old', '\\x00', {}, now() - interval '1 day', now() - interval '1 hour')",
            a.get(),
            placed.id.get()
        ),
    )
    .await;
    refuse_commits_on(&url, "order_events").await;
    refuse_commits_on(&url, "idempotency_keys").await;

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
    assert!(orders
        .advance_due(&DueSteps::at(Utc::now(), Duration::seconds(60)), 100)
        .await
        .is_err());
    assert!(orders.purge_expired_keys(Utc::now(), 100).await.is_err());

    assert_eq!(
        count(
            &url,
            "SELECT count(*), min(status::text), max(version) FROM orders"
        )
        .await,
        "1|created|1",
        "nothing was written"
    );
    assert_eq!(
        count(&url, "SELECT count(*) FROM idempotency_keys").await,
        "1"
    );
}

#[tokio::test]
async fn an_account_write_is_acknowledged_only_once_it_has_committed() {
    let Fixture {
        pool,
        users,
        a,
        url,
        ..
    } = fixture().await;
    refuse_commits_on(&url, "users").await;
    refuse_commits_on(&url, "revoked_tokens").await;

    let b = users
        .insert(trachios_domain::NewUser {
            name: trachios_domain::Name::parse("Bo").unwrap(),
            email: trachios_domain::Email::parse("b@x.io").unwrap(),
            password_hash: trachios_domain::PasswordHash::new("phc".into()),
            role: Role::Customer,
        })
        .await;
    assert!(b.is_err(), "{b:?}");
    let promoted = users
        .update(
            a,
            UserChange {
                role: Some(Role::Admin),
                disabled: Some(true),
            },
            Utc::now(),
        )
        .await;
    assert!(promoted.is_err(), "{promoted:?}");
    let accounts = PgAccountStates::new(pool);
    let token = TokenId::new("a-token".into());
    let revoked = accounts
        .revoke(a, &token, Utc::now() + Duration::hours(1))
        .await;
    assert!(revoked.is_err(), "{revoked:?}");
    let ended = accounts.end_sessions(a, Utc::now(), &token).await;
    assert!(ended.is_err(), "{ended:?}");
    let changed = users
        .change_password(
            a,
            trachios_domain::PasswordHash::new("new-phc".into()),
            Utc::now(),
            &token,
        )
        .await;
    assert!(changed.is_err(), "{changed:?}");

    assert_eq!(
        count(
            &url,
            "SELECT count(*), min(role::text), bool_or(disabled), count(tokens_valid_after), \
             min(password_hash) FROM users"
        )
        .await,
        "1|customer|f|0|phc",
        "nothing was written"
    );
    assert_eq!(
        count(&url, "SELECT count(*) FROM revoked_tokens").await,
        "0"
    );
}

#[tokio::test]
async fn a_webhook_write_is_acknowledged_only_once_it_has_committed() {
    let Fixture {
        pool,
        orders,
        a,
        url,
        ..
    } = fixture().await;
    let webhooks = PgWebhookRepository::new(pool);
    let kept = webhooks
        .insert(new_webhook(), 10)
        .await
        .unwrap()
        .expect("below the bound");
    // Two events, so that one delivery can finish before the commits are refused.
    orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let now = Utc::now() + Duration::seconds(1);
    let claimed = webhooks
        .claim_due(now, now + Duration::minutes(1), 1)
        .await
        .unwrap();
    let outcome = |next| AttemptRecord {
        delivery_id: claimed[0].delivery_id,
        webhook_id: claimed[0].webhook_id,
        event_type: claimed[0].event.kind,
        attempt: claimed[0].attempt,
        status_code: Some(200),
        error: None,
        at: now,
        next,
    };
    webhooks
        .record(vec![outcome(NextStep::Delivered)])
        .await
        .unwrap();
    let before = count(
        &url,
        "SELECT (SELECT count(*) FROM webhooks), \
                (SELECT string_agg(state::text || attempts, ',' ORDER BY id) FROM webhook_deliveries), \
                (SELECT count(*) FROM webhook_attempts)",
    )
    .await;
    assert_eq!(before, "1|delivered1,pending0|1");
    for table in [
        "webhooks",
        "webhook_deliveries",
        "webhook_attempts",
        "webhook_events",
    ] {
        refuse_commits_on(&url, table).await;
    }

    let created = webhooks.insert(new_webhook(), 10).await;
    assert!(created.is_err(), "{created:?}");
    let deleted = webhooks.delete(kept.id).await;
    assert!(deleted.is_err(), "{deleted:?}");
    let claim = webhooks
        .claim_due(now, now + Duration::minutes(1), 10)
        .await;
    assert!(claim.is_err(), "{claim:?}");
    let recorded = webhooks.record(vec![outcome(NextStep::GaveUp)]).await;
    assert!(recorded.is_err(), "{recorded:?}");
    let purged = webhooks
        .purge_finished(now + Duration::seconds(1), 100)
        .await;
    assert!(purged.is_err(), "{purged:?}");

    let after = count(
        &url,
        "SELECT (SELECT count(*) FROM webhooks), \
                (SELECT string_agg(state::text || attempts, ',' ORDER BY id) FROM webhook_deliveries), \
                (SELECT count(*) FROM webhook_attempts)",
    )
    .await;
    assert_eq!(after, before, "nothing was written");
}
