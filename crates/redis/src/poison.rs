//! Locks that survive a panic elsewhere.

use std::sync::{Mutex, MutexGuard};

/// Takes the lock even if a thread panicked while holding it: every state kept behind
/// these locks is valid after any single update, so a panic leaves nothing half-done.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
