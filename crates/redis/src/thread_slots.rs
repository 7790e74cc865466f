use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

/// Threads take slot numbers in the order they first ask; numbers are process-wide, so a
/// thread keeps its slot in every `ThreadSlots`.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// A value per thread, for the first `SLOTS` threads that ask; later threads share slots
/// with earlier ones, which is still correct, only not as local. A server has a handful of
/// threads that use the cache (its HTTP workers and the background runtime's).
pub(crate) struct ThreadSlots<T> {
    slots: [RwLock<Option<T>>; SLOTS],
}

const SLOTS: usize = 16;

impl<T: Clone> ThreadSlots<T> {
    pub(crate) fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| RwLock::new(None)),
        }
    }

    /// The calling thread's slot.
    pub(crate) fn slot(&self) -> usize {
        THREAD.with(|thread| thread % SLOTS)
    }

    pub(crate) fn get(&self, slot: usize) -> Option<T> {
        self.slots[slot % SLOTS]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set(&self, slot: usize, value: T) {
        *self.slots[slot % SLOTS]
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(value);
    }

    pub(crate) fn clear_all(&self) {
        for slot in &self.slots {
            *slot.write().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_sees_its_own_value_until_all_are_cleared() {
        let slots = ThreadSlots::<usize>::new();
        let mine = slots.slot();
        slots.set(mine, 1);
        let theirs = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let theirs = slots.slot();
                    assert_eq!(slots.get(theirs), None, "a new thread starts empty");
                    slots.set(theirs, 2);
                    theirs
                })
                .join()
                .unwrap()
        });
        assert_ne!(mine, theirs);
        assert_eq!((slots.get(mine), slots.get(theirs)), (Some(1), Some(2)));
        slots.clear_all();
        assert_eq!((slots.get(mine), slots.get(theirs)), (None, None));
    }
}
