//! A keyed rate limit (GCRA: a burst of `burst`, then one more every `period / burst`) whose
//! memory is bounded: past `capacity` keys it forgets the key closest to a full allowance,
//! found in an index ordered by that time, so that no check ever scans the map.
//!
//! governor's keyed limiters neither bound their map without a scan of every key nor let a
//! check look without spending, which the failed-login limit needs (only failures spend).

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One keyed limit.
pub(crate) struct Gcra<K> {
    /// The time one unit of allowance takes to come back.
    interval: Duration,
    /// How far ahead of now a key's theoretical arrival time may run: `burst - 1` intervals.
    tolerance: Duration,
    capacity: usize,
    state: Mutex<State<K>>,
}

struct State<K> {
    /// Each key's theoretical arrival time: when its allowance is full again, plus one
    /// interval. Only keys with less than a full allowance are kept.
    arrivals: HashMap<K, Instant>,
    /// The same, ordered by time: the first is the key to forget first.
    by_time: BTreeSet<(Instant, K)>,
}

impl<K: Hash + Eq + Ord + Clone> Gcra<K> {
    /// `burst` units per `period`, for at most `capacity` keys at a time.
    pub(crate) fn new(burst: u32, period: Duration, capacity: usize) -> Self {
        let burst = burst.max(1);
        let interval = period / burst;
        Self {
            interval,
            tolerance: interval * (burst - 1),
            capacity: capacity.max(1),
            state: Mutex::new(State {
                arrivals: HashMap::new(),
                by_time: BTreeSet::new(),
            }),
        }
    }

    /// Whether `key` has a unit of allowance now; `Err(wait)` until it has one.
    pub(crate) fn peek(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let state = self.lock();
        match state.arrivals.get(key) {
            Some(&arrival) => self.admits(arrival, now),
            None => Ok(()),
        }
    }

    /// Spends one unit of `key`'s allowance, if it has one.
    pub(crate) fn spend(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut state = self.lock();
        let arrival = state.arrivals.get(key).copied().unwrap_or(now).max(now);
        self.admits(arrival, now)?;
        state.set(key.clone(), arrival + self.interval);
        while state.arrivals.len() > self.capacity {
            state.forget_first();
        }
        Ok(())
    }

    /// Drops every key whose allowance is full again; the index makes this a walk over
    /// those keys only.
    pub(crate) fn forget_idle(&self, now: Instant) {
        let mut state = self.lock();
        while state
            .by_time
            .first()
            .is_some_and(|(arrival, _)| *arrival <= now)
        {
            state.forget_first();
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().arrivals.len()
    }

    fn admits(&self, arrival: Instant, now: Instant) -> Result<(), Duration> {
        let wait = arrival.saturating_duration_since(now + self.tolerance);
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        // A panic while holding the lock left at worst one key's time stale.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K: Hash + Eq + Ord + Clone> State<K> {
    fn set(&mut self, key: K, arrival: Instant) {
        if let Some(old) = self.arrivals.insert(key.clone(), arrival) {
            self.by_time.remove(&(old, key.clone()));
        }
        self.by_time.insert((arrival, key));
    }

    fn forget_first(&mut self) {
        if let Some((_, key)) = self.by_time.pop_first() {
            self.arrivals.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_burst_then_one_more_per_interval() {
        let limit = Gcra::new(3, MINUTE, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limit.spend(&"a", t0), Ok(()));
        }
        let wait = limit.spend(&"a", t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert_eq!(limit.spend(&"b", t0), Ok(()), "another key");
        assert!(limit.spend(&"a", t0 + Duration::from_secs(19)).is_err());
        assert_eq!(limit.spend(&"a", t0 + Duration::from_secs(20)), Ok(()));
        assert!(limit.spend(&"a", t0 + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn peeking_spends_nothing() {
        let limit = Gcra::new(2, MINUTE, 100);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(limit.peek(&"a", t0), Ok(()));
        }
        limit.spend(&"a", t0).unwrap();
        limit.spend(&"a", t0).unwrap();
        assert_eq!(limit.peek(&"a", t0), Err(Duration::from_secs(30)));
        assert_eq!(limit.peek(&"a", t0 + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn past_capacity_the_key_closest_to_a_full_allowance_is_forgotten() {
        let limit = Gcra::new(1, MINUTE, 2);
        let t0 = Instant::now();
        limit.spend(&"old", t0).unwrap();
        limit.spend(&"mid", t0 + Duration::from_secs(1)).unwrap();
        limit.spend(&"new", t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(limit.tracked(), 2);
        let now = t0 + Duration::from_secs(2);
        assert_eq!(
            limit.peek(&"old", now),
            Ok(()),
            "forgotten: a full allowance"
        );
        assert!(limit.peek(&"mid", now).is_err());
        assert!(limit.peek(&"new", now).is_err());
    }

    #[test]
    fn idle_keys_are_dropped_and_busy_ones_kept() {
        let limit = Gcra::new(1, MINUTE, 100);
        let t0 = Instant::now();
        limit.spend(&"early", t0).unwrap();
        limit.spend(&"late", t0 + Duration::from_secs(30)).unwrap();
        limit.forget_idle(t0 + Duration::from_secs(60));
        assert_eq!(limit.tracked(), 1);
        assert!(limit.peek(&"late", t0 + Duration::from_secs(60)).is_err());
    }
}
