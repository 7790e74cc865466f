use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::ports::DependencyProbe;

/// Which order cache this process runs, as far as readiness is concerned.
#[derive(Clone)]
pub enum CacheBackend {
    /// A shared cache that can be unreachable; the service still serves without it.
    Remote(Arc<dyn DependencyProbe>),
    /// A cache inside this process; it cannot be down.
    InProcess,
    Disabled,
}

/// What the readiness probe reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub status: ReadyStatus,
    pub database_up: bool,
    pub cache: CacheState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyStatus {
    Ready,
    /// Shutting down: still serving, but a load balancer should send no new work.
    Draining,
    Unavailable,
}

impl ReadyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Draining => "draining",
            Self::Unavailable => "unavailable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    Up,
    Down,
    Memory,
    Disabled,
}

impl CacheState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Memory => "memory",
            Self::Disabled => "disabled",
        }
    }
}

/// Decides whether this process should receive traffic: the database must answer (every
/// request needs it); the cache is reported but never decides, since the service serves
/// correctly without it.
#[derive(Clone)]
pub struct ReadinessService {
    database: Arc<dyn DependencyProbe>,
    cache: CacheBackend,
    draining: Arc<AtomicBool>,
}

impl ReadinessService {
    pub fn new(database: Arc<dyn DependencyProbe>, cache: CacheBackend) -> Self {
        Self {
            database,
            cache,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on the probe reports `draining`, whatever the dependencies say.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub async fn check(&self) -> Readiness {
        let database_up = match self.database.check().await {
            Ok(()) => true,
            // Probes poll every few seconds: an outage is logged where requests fail, not
            // once per poll here.
            Err(err) => {
                tracing::debug!(error = %err.chain(), "readiness: the database does not answer");
                false
            }
        };
        let cache = match &self.cache {
            CacheBackend::Remote(probe) => match probe.check().await {
                Ok(()) => CacheState::Up,
                Err(err) => {
                    tracing::debug!(error = %err.chain(), "readiness: the cache does not answer");
                    CacheState::Down
                }
            },
            CacheBackend::InProcess => CacheState::Memory,
            CacheBackend::Disabled => CacheState::Disabled,
        };
        let status = if self.draining.load(Ordering::Acquire) {
            ReadyStatus::Draining
        } else if database_up {
            ReadyStatus::Ready
        } else {
            ReadyStatus::Unavailable
        };
        Readiness {
            status,
            database_up,
            cache,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockDependencyProbe;
    use crate::DomainError;

    fn probe(up: bool) -> Arc<dyn DependencyProbe> {
        let mut probe = MockDependencyProbe::new();
        probe.expect_check().returning(move || {
            if up {
                Ok(())
            } else {
                Err(DomainError::unavailable("connection refused"))
            }
        });
        Arc::new(probe)
    }

    #[tokio::test]
    async fn ready_when_the_database_answers_even_with_the_cache_down() {
        let service = ReadinessService::new(probe(true), CacheBackend::Remote(probe(false)));
        let report = service.check().await;
        assert_eq!(report.status, ReadyStatus::Ready);
        assert!(report.database_up);
        assert_eq!(report.cache, CacheState::Down);
    }

    #[tokio::test]
    async fn unavailable_when_the_database_does_not_answer() {
        let service = ReadinessService::new(probe(false), CacheBackend::Disabled);
        let report = service.check().await;
        assert_eq!(report.status, ReadyStatus::Unavailable);
        assert!(!report.database_up);
        assert_eq!(report.cache, CacheState::Disabled);
    }

    #[tokio::test]
    async fn draining_wins_over_healthy_dependencies() {
        let service = ReadinessService::new(probe(true), CacheBackend::InProcess);
        assert_eq!(service.check().await.status, ReadyStatus::Ready);
        service.clone().start_draining();
        let report = service.check().await;
        assert_eq!(report.status, ReadyStatus::Draining);
        assert_eq!(report.cache, CacheState::Memory);
    }
}
