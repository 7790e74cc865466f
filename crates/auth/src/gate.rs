//! Admission to password hashing: at most `concurrency` hashes run at once (each holds
//! 19 MiB), at most `queue` more wait, and anything beyond is turned away at once, so that
//! no number of concurrent logins can exhaust memory or the blocking pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use trachios_domain::DomainError;

/// How much hashing may happen at once and how much may wait; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub concurrency: Option<usize>,
    pub queue: Option<usize>,
}

impl Default for HashLimits {
    fn default() -> Self {
        Self {
            concurrency: Some(std::thread::available_parallelism().map_or(1, |n| n.get())),
            queue: Some(256),
        }
    }
}

/// Hashing is saturated: the queue is full. Transient by nature, hence a 503 to retry.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is saturated; retry shortly")]
pub struct Saturated;

#[derive(Debug)]
pub(crate) struct HashGate {
    permits: Option<Arc<Semaphore>>,
    /// Hashes running plus hashes waiting.
    admitted: AtomicUsize,
    capacity: Option<usize>,
}

/// A place among the running hashes; dropping it lets the next one in.
pub(crate) struct Admission<'a> {
    gate: &'a HashGate,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.gate.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    pub(crate) fn new(limits: HashLimits) -> Self {
        let capacity = match (limits.concurrency, limits.queue) {
            (Some(running), Some(waiting)) => Some(running + waiting),
            _ => None,
        };
        Self {
            permits: limits
                .concurrency
                .map(|n| Arc::new(Semaphore::new(n.max(1)))),
            admitted: AtomicUsize::new(0),
            capacity,
        }
    }

    /// Waits for a turn to hash, or fails at once when too many already wait.
    pub(crate) async fn admit(&self) -> Result<Admission<'_>, DomainError> {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        // From here on the count is released by the admission's drop, whatever happens.
        let mut admission = Admission {
            gate: self,
            _permit: None,
        };
        if self.capacity.is_some_and(|capacity| before >= capacity) {
            return Err(DomainError::unavailable(Saturated));
        }
        if let Some(permits) = &self.permits {
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .map_err(DomainError::internal)?;
            admission._permit = Some(permit);
        }
        Ok(admission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn beyond_running_plus_waiting_is_refused_and_room_returns_as_hashes_finish() {
        let gate = Arc::new(HashGate::new(HashLimits {
            concurrency: Some(2),
            queue: Some(1),
        }));
        let first = gate.admit().await.unwrap();
        let _second = gate.admit().await.unwrap();
        // The third waits for a running hash to finish.
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit().await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the third hash waits its turn");
        let fourth = gate.admit().await;
        assert!(matches!(fourth, Err(DomainError::Unavailable(_))));
        drop(first);
        assert!(
            waiting.await.unwrap().is_ok(),
            "the waiting hash runs once one ends"
        );
        assert!(gate.admit().await.is_ok(), "refusals do not leak places");
    }

    #[tokio::test]
    async fn no_limits_admit_everything() {
        let gate = HashGate::new(HashLimits {
            concurrency: None,
            queue: None,
        });
        let admitted: Vec<_> = futures_admit(&gate, 1000).await;
        assert_eq!(admitted.len(), 1000);
    }

    async fn futures_admit(gate: &HashGate, n: usize) -> Vec<Admission<'_>> {
        let mut all = Vec::new();
        for _ in 0..n {
            all.push(gate.admit().await.unwrap());
        }
        all
    }
}
