//! Chores each process does now and then so that nothing it keeps grows without bound.

use std::sync::Arc;

use std::time::Duration;

use trachios_domain::services::{DeliveryService, OrderService, WebhookService};
use trachios_http::limits::{RateLimits, FORGET_IDLE_EVERY};

/// Expired idempotency keys deleted per statement: short statements, so that the purge
/// never holds locks long or competes with requests for long.
const PURGE_BATCH: i64 = 1000;

pub struct Chores {
    pub rate_limits: Arc<RateLimits>,
    pub orders: OrderService,
    pub deliveries: DeliveryService,
    pub webhooks: WebhookService,
    /// How long finished webhook deliveries and their log entries are kept.
    pub webhook_retention: Duration,
}

/// At start and every `FORGET_IDLE_EVERY`: drops the rate-limit state of clients back at
/// their full allowance, purges expired idempotency keys and finished webhook deliveries
/// (any process may; they share the work), and seals webhook keys that are not sealed under
/// the current key (after a rotation, or from before keys were sealed).
pub async fn run(chores: Chores) {
    let mut every = tokio::time::interval(FORGET_IDLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        chores.rate_limits.forget_idle();
        purge_expired_keys(&chores.orders).await;
        purge_finished_deliveries(&chores.deliveries, chores.webhook_retention).await;
        reseal_webhook_keys(&chores.webhooks).await;
    }
}

async fn reseal_webhook_keys(webhooks: &WebhookService) {
    match webhooks.reseal_secrets().await {
        Ok(report) if report.resealed > 0 => {
            tracing::info!(
                count = report.resealed,
                "webhook keys sealed under the current key"
            );
        }
        Ok(_) => {}
        Err(err) => {
            tracing::warn!(error = %err.chain(), "sealing webhook keys failed; retrying later")
        }
    }
}

async fn purge_expired_keys(orders: &OrderService) {
    purge_in_batches("expired idempotency keys", || {
        orders.purge_expired_keys(PURGE_BATCH)
    })
    .await;
}

async fn purge_finished_deliveries(deliveries: &DeliveryService, retention: Duration) {
    purge_in_batches("finished webhook deliveries", || {
        deliveries.purge_finished(retention, PURGE_BATCH)
    })
    .await;
}

/// Purges batch after batch until one comes back short; a failure waits for the next chore.
async fn purge_in_batches<F, Fut>(what: &'static str, mut purge: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, trachios_domain::DomainError>>,
{
    let mut purged = 0;
    loop {
        match purge().await {
            Ok(n) => {
                purged += n;
                if n < PURGE_BATCH as u64 {
                    break;
                }
            }
            Err(err) => {
                tracing::warn!(what, error = %err.chain(), "purge failed; retrying later");
                break;
            }
        }
    }
    if purged > 0 {
        tracing::info!(what, count = purged, "purged");
    }
}
