//! The webhook delivery workers: each claims a batch of due deliveries, sends it and
//! records the attempts, over and over. Every process runs them; the store's claims share
//! the work, so adding processes adds delivery capacity.

use std::time::Duration;

use tokio::sync::watch;
use trachios_domain::services::DeliveryService;

/// Workers per process: while one waits on a slow endpoint, the other keeps going.
pub const WORKERS: usize = 2;

/// How often an idle worker looks for due deliveries: the most an event waits before its
/// first attempt, beyond the commit that recorded it.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// Delivers until `shutdown` turns true. A batch under way is finished and recorded first:
/// stopping mid-batch would only make its deliveries wait out their leases.
pub async fn run(service: DeliveryService, mut shutdown: watch::Receiver<bool>) {
    let mut failing = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let full_batch = match service.tick().await {
            Ok(sent) => {
                if failing {
                    tracing::info!("webhook delivery worker recovered");
                    failing = false;
                }
                sent >= service.batch_size()
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %err.chain(), "webhook delivery round failed; retrying");
                    failing = true;
                }
                false
            }
        };
        if full_batch {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("webhook delivery worker stopped");
}
