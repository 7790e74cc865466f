use std::time::Duration;

use tokio::sync::watch;
use trachios_domain::services::LifecycleService;

/// How often an idle worker looks for due orders: a tenth of the step, at most 250 ms,
/// so that an order moves well within its step of becoming due.
pub fn poll_interval(step: Duration) -> Duration {
    (step / 10).clamp(Duration::from_millis(5), Duration::from_millis(250))
}

/// Runs lifecycle ticks until `shutdown` turns true. A tick in progress always finishes:
/// each one is a single statement, so a batch is never half-applied.
pub async fn run(
    service: LifecycleService,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failing = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let full_batch = match service.tick().await {
            Ok(moved) => {
                if failing {
                    tracing::info!("lifecycle worker recovered");
                    failing = false;
                }
                moved as i64 >= service.batch_size()
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %err.chain(), "lifecycle tick failed; retrying");
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
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("lifecycle worker stopped");
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
