//! What exports may take from the requests around them: a few at once per process, each
//! at a bounded pace. An export reads and writes as fast as the machine allows; unpaced, one
//! took a core and doubled the p99 of cached reads on the same two-core machine.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use trachios_domain::DomainError;

/// When a client refused for want of a slot may try again.
const RETRY_EXPORT_AFTER: Duration = Duration::from_secs(10);

/// Exports under way in this process (`EXPORTS_AT_ONCE`) and their pace
/// (`EXPORT_ROWS_PER_SECOND`).
#[derive(Debug, Clone)]
pub struct ExportSlots {
    slots: Option<Arc<Semaphore>>,
    rows_per_second: Option<u32>,
}

impl ExportSlots {
    /// `None` for either is no limit.
    pub fn new(at_once: Option<usize>, rows_per_second: Option<u32>) -> Self {
        Self {
            slots: at_once.map(|n| Arc::new(Semaphore::new(n))),
            rows_per_second,
        }
    }

    /// A slot for one export, held until the returned pace is dropped; 429 when every slot
    /// is taken.
    pub fn take(&self) -> Result<ExportPace, DomainError> {
        let permit =
            match &self.slots {
                Some(slots) => Some(slots.clone().try_acquire_owned().map_err(|_| {
                    DomainError::RateLimited {
                        retry_after: RETRY_EXPORT_AFTER,
                    }
                })?),
                None => None,
            };
        Ok(ExportPace {
            _permit: permit,
            rows_per_second: self.rows_per_second,
            started: Instant::now(),
            rows: 0,
        })
    }
}

/// One export's slot and the rows it has sent.
#[derive(Debug)]
pub struct ExportPace {
    _permit: Option<OwnedSemaphorePermit>,
    rows_per_second: Option<u32>,
    started: Instant,
    rows: u64,
}

impl ExportPace {
    /// Counts rows handed to the connection.
    pub fn sent(&mut self, rows: usize) {
        self.rows += rows as u64;
    }

    /// Waits until the rows sent so far are within the pace since the export started.
    pub async fn ready(&self) {
        if let Some(due) = self.due() {
            tokio::time::sleep_until(due).await;
        }
    }

    /// When the rows sent so far are within the pace; `None` without one.
    fn due(&self) -> Option<Instant> {
        let rate = self.rows_per_second.filter(|r| *r > 0)?;
        Some(self.started + Duration::from_secs_f64(self.rows as f64 / f64::from(rate)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_given_back_when_an_export_ends() {
        let slots = ExportSlots::new(Some(1), None);
        let first = slots.take().unwrap();
        assert!(matches!(
            slots.take(),
            Err(DomainError::RateLimited { retry_after }) if retry_after == RETRY_EXPORT_AFTER
        ));
        drop(first);
        assert!(slots.take().is_ok());
        let unlimited = ExportSlots::new(None, None);
        let _held: Vec<_> = (0..10).map(|_| unlimited.take().unwrap()).collect();
    }

    #[tokio::test]
    async fn rows_are_sent_no_faster_than_the_pace() {
        let slots = ExportSlots::new(None, Some(10_000));
        let mut pace = slots.take().unwrap();
        pace.sent(1000);
        pace.sent(500);
        assert_eq!(pace.due(), Some(pace.started + Duration::from_millis(150)));
        pace.ready().await;
        assert!(Instant::now() >= pace.started + Duration::from_millis(150));
        let mut unpaced = ExportSlots::new(None, None).take().unwrap();
        unpaced.sent(1_000_000);
        assert_eq!(unpaced.due(), None);
    }
}
