//! Customers whose list generation the cache failed to renew after a write: a page held
//! for them may be older than the write, so their lists skip the cache until a new
//! generation has been stored.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trachios_domain::UserId;

/// A bounded set of stale customers. Past `capacity` it forgets them all and treats every
/// customer as stale for `bypass_for` (longer than a page lives: every page stored before
/// has expired by then).
#[derive(Debug)]
pub(crate) struct StaleLists {
    capacity: usize,
    bypass_for: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    customers: HashSet<UserId>,
    bypass_until: Option<Instant>,
}

/// Why a customer's list may not be read from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Staleness {
    Fresh,
    /// A new generation must be stored first; then the cache is trusted again.
    Customer,
    /// Every list skips the cache for a while.
    All,
}

impl StaleLists {
    pub(crate) fn new(capacity: usize, bypass_for: Duration) -> Self {
        Self {
            capacity,
            bypass_for,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn of(&self, customer: UserId) -> Staleness {
        let mut state = self.lock();
        if let Some(until) = state.bypass_until {
            if Instant::now() < until {
                return Staleness::All;
            }
            state.bypass_until = None;
        }
        if state.customers.contains(&customer) {
            Staleness::Customer
        } else {
            Staleness::Fresh
        }
    }

    /// A write to these customers' orders did not reach the cache.
    pub(crate) fn mark(&self, customers: impl IntoIterator<Item = UserId>) {
        let mut state = self.lock();
        state.customers.extend(customers);
        if state.customers.len() > self.capacity {
            state.customers.clear();
            state.bypass_until = Some(Instant::now() + self.bypass_for);
        }
    }

    /// The customer's generation was renewed after the missed write.
    pub(crate) fn clear(&self, customer: UserId) {
        self.lock().customers.remove(&customer);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::poison::lock(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: i64) -> UserId {
        UserId::parse(n).expect("valid id")
    }

    #[test]
    fn a_marked_customer_is_stale_until_cleared_and_others_are_not() {
        let stale = StaleLists::new(10, Duration::from_secs(300));
        stale.mark([uid(1)]);
        assert_eq!(stale.of(uid(1)), Staleness::Customer);
        assert_eq!(stale.of(uid(2)), Staleness::Fresh);
        stale.clear(uid(1));
        assert_eq!(stale.of(uid(1)), Staleness::Fresh);
    }

    #[test]
    fn past_capacity_every_list_is_bypassed_for_the_period_then_none() {
        let stale = StaleLists::new(1, Duration::from_secs(300));
        stale.mark([uid(1), uid(2)]);
        assert_eq!(stale.of(uid(99)), Staleness::All);
        let over = StaleLists::new(0, Duration::ZERO);
        over.mark([uid(1)]);
        assert_eq!(
            over.of(uid(1)),
            Staleness::Fresh,
            "a zero-length bypass is over"
        );
    }
}
