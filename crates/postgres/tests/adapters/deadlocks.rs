//! A deadlock is the database's doing, not the request's: it is an outage to retry (503
//! with `Retry-After`), never a 500.

use std::time::Duration;

use chrono::Utc;
use trachios_domain::ports::{OrderRepository, WebhookRepository};
use trachios_domain::{Caller, DomainError, NewWebhook, Role, Subscription, Webhook, WebhookUrl};
use trachios_postgres::PgWebhookRepository;
use trachios_test_support::psql;

use crate::fixture::{fixture, new_order, Fixture};

/// A webhook endpoint for every event.
async fn endpoint(webhooks: &PgWebhookRepository) -> Webhook {
    webhooks
        .insert(
            NewWebhook {
                url: WebhookUrl::parse("https://hooks.example.com/in").unwrap(),
                subscription: Subscription::DEFAULT,
                secret: trachios_domain::SealedSecret::new("secret"),
                created_at: Utc::now(),
            },
            10,
        )
        .await
        .unwrap()
        .expect("stored")
}

/// Whether the other session has finished its first statement — and so holds its locks —
/// and sleeps before its second: seen from its wait, not from a table lock it takes before
/// its row locks.
async fn sleeping_after_its_first_statement(url: &str) -> bool {
    let sql = "SELECT count(*) FROM pg_stat_activity \
               WHERE datname = current_database() AND wait_event = 'PgSleep'";
    for _ in 0..250 {
        if psql(url, sql).await.trim() != "0" {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_change_that_loses_a_deadlock_is_unavailable_not_internal() {
    let Fixture {
        pool,
        orders,
        a,
        url,
        ..
    } = fixture().await;
    let order = orders
        .insert(new_order(a, chrono::Duration::seconds(600)))
        .await
        .unwrap();
    // A webhook, so that the change's event writes a delivery, which locks the endpoint.
    endpoint(&PgWebhookRepository::new(pool)).await;
    // Another session takes the endpoint, then (a second later) wants the order.
    let other = {
        let url = url.clone();
        let id = order.id.get();
        tokio::spawn(async move {
            psql(
                &url,
                &format!(
                    "SELECT id FROM webhooks FOR UPDATE; SELECT pg_sleep(1); \
                     UPDATE orders SET updated_at = now() WHERE id = {id}"
                ),
            )
            .await
        })
    };
    assert!(
        sleeping_after_its_first_statement(&url).await,
        "the other session holds the endpoint"
    );
    // This change locks the order, then waits for the endpoint: the other session waits
    // for the order next, and PostgreSQL ends this one, the first to wait.
    let caller = Caller {
        user_id: a,
        role: Role::Customer,
    };
    let change = order
        .cancel(caller, Utc::now(), chrono::Duration::seconds(600))
        .unwrap();
    let outcome = orders.transition(change).await;
    other.await.expect("the other session ends");
    match outcome {
        Err(DomainError::Unavailable(cause)) => {
            assert!(cause.to_string().contains("deadlock"), "{cause}")
        }
        other => panic!("a lost deadlock must be retryable: {other:?}"),
    }
}

#[tokio::test]
async fn deleting_an_endpoint_waits_for_a_delivery_being_recorded_instead_of_deadlocking() {
    let Fixture {
        pool,
        orders,
        a,
        url,
        ..
    } = fixture().await;
    let webhooks = PgWebhookRepository::new(pool);
    let hook = endpoint(&webhooks).await;
    orders
        .insert(new_order(a, chrono::Duration::seconds(600)))
        .await
        .unwrap();
    let hook_id = hook.id.get();
    // What the delivery recorder does: the delivery first, then an attempt row, whose
    // foreign key takes the endpoint.
    let recorder = {
        let url = url.clone();
        tokio::spawn(async move {
            psql(
                &url,
                &format!(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1 WHERE webhook_id = {hook_id}; \
                     SELECT pg_sleep(1); \
                     INSERT INTO webhook_attempts (webhook_id, event_uuid, event_type, attempt, attempted_at) \
                     VALUES ({hook_id}, gen_random_uuid(), 'order.created', 1, now())"
                ),
            )
            .await
        })
    };
    assert!(
        sleeping_after_its_first_statement(&url).await,
        "the recorder holds the delivery"
    );
    let deleted = webhooks.delete(hook.id).await;
    recorder.await.expect("the recorder commits");
    assert!(matches!(deleted, Ok(true)), "{deleted:?}");
}
