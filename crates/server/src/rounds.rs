//! The loop every background worker runs: a round, at once another when the round was full
//! (more is waiting), else a pause; an outage is logged when it starts and when it ends,
//! not at every round.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use trachios_domain::DomainError;

/// Runs `round` until `shutdown` turns true; `round` answers whether it was full. A round
/// under way always finishes: shutdown is looked at between rounds.
pub async fn run_rounds<F, Fut>(
    worker: &'static str,
    pause: Duration,
    mut shutdown: watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, DomainError>>,
{
    let mut failing = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let full = match round().await {
            Ok(full) => {
                if failing {
                    tracing::info!(worker, "background round succeeded again");
                    failing = false;
                }
                full
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(worker, error = %err.chain(), "background round failed; retrying");
                    failing = true;
                }
                false
            }
        };
        if full {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(worker, "background worker stopped");
}
