//! Orders whose latest version the cache failed to learn about: reads of them go to the
//! database until the cache holds a version at least as new.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trachios_domain::{Order, OrderId};

/// A bounded registry of suspect orders. Past `capacity` it forgets them all and marks the
/// whole cache suspect for `bypass_for` (one TTL: every stale entry has expired by then).
#[derive(Debug)]
pub(crate) struct Suspects {
    capacity: usize,
    bypass_for: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Order id → the newest version the cache failed to learn about.
    versions: HashMap<OrderId, i64>,
    bypass_until: Option<Instant>,
}

impl Suspects {
    pub(crate) fn new(capacity: usize, bypass_for: Duration) -> Self {
        Self {
            capacity,
            bypass_for,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether a read of `id` must skip the cache now.
    pub(crate) fn is_suspect(&self, id: OrderId) -> bool {
        let mut state = self.lock();
        if let Some(until) = state.bypass_until {
            if Instant::now() < until {
                return true;
            }
            state.bypass_until = None;
        }
        state.versions.contains_key(&id)
    }

    /// The cache missed these versions.
    pub(crate) fn mark(&self, orders: &[Order]) {
        let mut state = self.lock();
        for order in orders {
            let version = state.versions.entry(order.id).or_insert(order.version);
            *version = (*version).max(order.version);
        }
        if state.versions.len() > self.capacity {
            state.versions.clear();
            state.bypass_until = Some(Instant::now() + self.bypass_for);
        }
    }

    /// The cache now holds `order`: it is no longer suspect if it is at least as new.
    pub(crate) fn clear(&self, order: &Order) {
        let mut state = self.lock();
        if state
            .versions
            .get(&order.id)
            .is_some_and(|v| *v <= order.version)
        {
            state.versions.remove(&order.id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::poison::lock(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use trachios_domain::{ItemDescription, OrderStatus, UserId};

    fn order(id: i64, version: i64) -> Order {
        Order {
            id: OrderId::parse(id).expect("positive"),
            customer_id: UserId::parse(1).expect("positive"),
            item_description: ItemDescription::parse("Desk").expect("valid"),
            status: OrderStatus::Created,
            version,
            next_step_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn id(n: i64) -> OrderId {
        OrderId::parse(n).expect("positive")
    }

    #[test]
    fn a_marked_order_stays_suspect_until_the_cache_holds_a_version_as_new() {
        let suspects = Suspects::new(10, Duration::from_secs(300));
        suspects.mark(&[order(1, 5)]);
        assert!(suspects.is_suspect(id(1)));
        assert!(!suspects.is_suspect(id(2)), "other orders are unaffected");
        suspects.clear(&order(1, 4));
        assert!(
            suspects.is_suspect(id(1)),
            "an older version does not clear it"
        );
        suspects.clear(&order(1, 5));
        assert!(!suspects.is_suspect(id(1)), "the missed version clears it");
    }

    #[test]
    fn marking_keeps_the_newest_missed_version() {
        let suspects = Suspects::new(10, Duration::from_secs(300));
        suspects.mark(&[order(1, 7)]);
        suspects.mark(&[order(1, 6)]);
        suspects.clear(&order(1, 6));
        assert!(
            suspects.is_suspect(id(1)),
            "version 7 was missed, 6 is not enough"
        );
    }

    #[test]
    fn past_capacity_every_order_is_suspect_for_the_bypass_period() {
        let suspects = Suspects::new(2, Duration::from_secs(300));
        suspects.mark(&[order(1, 1), order(2, 1), order(3, 1)]);
        assert!(suspects.is_suspect(id(99)), "the whole cache is bypassed");
    }

    #[test]
    fn the_bypass_ends_after_its_period() {
        let suspects = Suspects::new(0, Duration::ZERO);
        suspects.mark(&[order(1, 1)]);
        assert!(
            !suspects.is_suspect(id(1)),
            "a zero-length bypass is already over"
        );
    }
}
