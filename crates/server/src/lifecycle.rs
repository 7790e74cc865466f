use std::time::Duration;

use tokio::sync::watch;
use trachios_domain::services::LifecycleService;

use crate::rounds::run_rounds;

/// How often an idle worker looks for due orders: a tenth of the step, at most 250 ms,
/// so that an order moves well within its step of becoming due.
pub fn poll_interval(step: Duration) -> Duration {
    (step / 10).clamp(Duration::from_millis(5), Duration::from_millis(250))
}

/// Runs lifecycle ticks until `shutdown` turns true. A tick in progress always finishes:
/// each one is a single statement, so a batch is never half-applied.
pub async fn run(service: LifecycleService, interval: Duration, shutdown: watch::Receiver<bool>) {
    run_rounds("lifecycle", interval, shutdown, || async {
        Ok(service.tick().await? as i64 >= service.batch_size())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poll_interval_is_a_tenth_of_the_step_capped_at_250_ms() {
        assert_eq!(
            poll_interval(Duration::from_secs(15)),
            Duration::from_millis(250)
        );
        assert_eq!(
            poll_interval(Duration::from_millis(500)),
            Duration::from_millis(50)
        );
        assert_eq!(
            poll_interval(Duration::from_millis(10)),
            Duration::from_millis(5)
        );
    }
}
