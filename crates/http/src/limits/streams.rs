use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use trachios_domain::{DomainError, UserId};

/// What a client refused a stream is told to wait: streams end when their clients leave,
/// so a slot frees up as soon as one of the user's other tabs closes.
const RETRY_STREAM_AFTER: Duration = Duration::from_secs(5);

/// Open event streams per user in this process (`STREAMS_PER_USER`): each holds a
/// connection and a subscription for as long as the client stays.
#[derive(Debug, Default)]
pub struct StreamSlots {
    per_user: Option<usize>,
    open: Mutex<HashMap<UserId, usize>>,
}

impl StreamSlots {
    /// `per_user` of `None` is no limit.
    pub fn new(per_user: Option<usize>) -> Self {
        Self {
            per_user,
            open: Mutex::default(),
        }
    }

    /// A slot for one more stream of `user`, held until the returned guard drops; 429 when
    /// the user has all their streams open.
    pub fn take(self: &Arc<Self>, user: UserId) -> Result<StreamSlot, DomainError> {
        let mut open = self.lock();
        let count = open.entry(user).or_default();
        if self.per_user.is_some_and(|limit| *count >= limit) {
            return Err(DomainError::RateLimited {
                retry_after: RETRY_STREAM_AFTER,
            });
        }
        *count += 1;
        Ok(StreamSlot {
            slots: self.clone(),
            user,
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One open stream's claim on its user's slots.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    user: UserId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                // Users without streams take no room.
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: i64) -> UserId {
        UserId::parse(n).unwrap()
    }

    #[test]
    fn a_user_holds_at_most_the_limit_and_a_closed_stream_frees_its_slot() {
        let slots = Arc::new(StreamSlots::new(Some(2)));
        let first = slots.take(uid(1)).unwrap();
        let _second = slots.take(uid(1)).unwrap();
        assert!(matches!(
            slots.take(uid(1)),
            Err(DomainError::RateLimited { .. })
        ));
        assert!(slots.take(uid(2)).is_ok(), "other users are not affected");
        drop(first);
        assert!(slots.take(uid(1)).is_ok());
    }

    #[test]
    fn users_without_streams_take_no_room() {
        let slots = Arc::new(StreamSlots::new(None));
        let held: Vec<_> = (0..100).map(|_| slots.take(uid(1)).unwrap()).collect();
        assert_eq!(slots.lock().get(&uid(1)), Some(&100));
        drop(held);
        assert!(slots.lock().is_empty());
    }
}
