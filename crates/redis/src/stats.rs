use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of what the cache did, kept per cache for tests and logs, and counted in the
/// process's `trachios_cache_operations_total` for `/metrics`.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
    skipped: AtomicU64,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
    /// Operations that reached Redis and failed or timed out.
    pub errors: u64,
    /// Operations not attempted because the circuit was open.
    pub skipped: u64,
}

impl CacheStats {
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("trachios_cache_operations_total", "result" => "hit").increment(1);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("trachios_cache_operations_total", "result" => "miss").increment(1);
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("trachios_cache_operations_total", "result" => "error").increment(1);
    }

    pub(crate) fn skip(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("trachios_cache_operations_total", "result" => "skipped").increment(1);
    }

    pub fn counts(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}
