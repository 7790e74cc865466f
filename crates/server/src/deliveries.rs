//! The webhook delivery workers: each claims a batch of due deliveries, sends it and
//! records the attempts, over and over. Every process runs them; the store's claims share
//! the work, so adding processes adds delivery capacity.

use std::time::Duration;

use tokio::sync::watch;
use trachios_domain::services::DeliveryService;

use crate::rounds::run_rounds;

/// Workers per process: while one waits on a slow endpoint, the other keeps going.
pub const WORKERS: usize = 2;

/// How often an idle worker looks for due deliveries: the most an event waits before its
/// first attempt, beyond the commit that recorded it.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// Delivers until `shutdown` turns true. A batch under way is finished and recorded first:
/// stopping mid-batch would only make its deliveries wait out their leases.
pub async fn run(service: DeliveryService, shutdown: watch::Receiver<bool>) {
    run_rounds("webhook delivery", POLL_EVERY, shutdown, || async {
        Ok(service.tick().await? >= service.batch_size())
    })
    .await;
}
