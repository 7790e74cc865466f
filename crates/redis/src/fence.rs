//! What keeps a shared cache from serving a version older than one committed, whichever
//! process committed it and whatever it failed to tell Redis: per-order version floors,
//! learned from the change feed (and from this process's own writes that missed Redis), and
//! a lease that lapses when the feed falls behind.
//!
//! Floors live in a fixed table indexed by a hash of the order id, each slot holding the
//! highest version any order hashed there reached within `window`, so memory stays fixed
//! whatever the write rate: two orders sharing a slot only turn some hits into misses,
//! never a stale entry into a hit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use trachios_domain::{OrderId, UserId};

/// Slots in the floor table (8 bytes each: 8 MiB). With a floor per change kept for
/// `window`, a shop changing 100 orders a second fills about 6% of them.
pub(crate) const FLOOR_SLOTS: usize = 1 << 20;
/// Slots in the table of customers whose pages must be checked (2 MiB).
pub(crate) const LIST_SLOTS: usize = 1 << 18;
/// Slots in the table of changes this process stored in Redis itself (512 KiB): the feed
/// brings them back within a poll or two, so it only needs to hold that many.
pub(crate) const OWN_WRITE_SLOTS: usize = 1 << 16;

/// A list mark that no generation satisfies.
const MUST_RENEW: u64 = u64::MAX;

/// Changes to a customer's orders since their pages were last checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListMark(u64);

impl ListMark {
    /// Whether a customer's generation shows that the marked change's own writer renewed it
    /// after its commit, and nobody since: then every page stored under it is newer.
    pub(crate) fn satisfied_by(self, generation: Option<u64>) -> bool {
        self.0 != MUST_RENEW && generation == Some(self.0)
    }
}

#[derive(Debug)]
pub(crate) struct Fence {
    /// `version << 32 | seconds since origin`; zero is an empty slot.
    floors: Box<[AtomicU64]>,
    /// Per slot of customers, the generation their one pending change's writer stores
    /// (`MUST_RENEW` when more than one is pending or the writer missed Redis); zero when
    /// none is pending.
    lists: Box<[AtomicU64]>,
    /// Generations this process stored for its own changes, each in the slot the value
    /// itself picks (it is a hash of the change).
    own_writes: Box<[AtomicU64]>,
    origin: Instant,
    /// How long a floor holds: longer than any entry written before the change, or filled
    /// from a read that started before it, can live in Redis.
    window: Duration,
    /// `Some` when other processes write to the database too: the longest a change may go
    /// unseen before this process stops trusting the cache.
    lease: Option<Duration>,
    /// Nanoseconds after `origin` when the last complete read of the feed began (0: never).
    caught_up: AtomicU64,
    /// Seconds after `origin` until which every hit is refused (the feed lost track).
    distrust_until: AtomicU64,
}

impl Fence {
    /// A fence for a cache whose database only this process writes: its own misses are all
    /// there is to know.
    pub(crate) fn local(window: Duration) -> Self {
        Self::new(window, None, FLOOR_SLOTS, LIST_SLOTS)
    }

    fn new(window: Duration, lease: Option<Duration>, floors: usize, lists: usize) -> Self {
        Self {
            floors: table(floors),
            lists: table(lists),
            own_writes: table(OWN_WRITE_SLOTS),
            origin: Instant::now(),
            window,
            lease,
            caught_up: AtomicU64::new(0),
            distrust_until: AtomicU64::new(0),
        }
    }

    /// Other processes write too: from now on the cache is trusted only while the feed was
    /// read to the end within `lease`.
    pub(crate) fn followed(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    pub(crate) fn lease(&self) -> Option<Duration> {
        self.lease
    }

    /// Whether the cache may answer at all now.
    pub(crate) fn is_trusted(&self) -> bool {
        let now = self.origin.elapsed();
        if now.as_secs() < self.distrust_until.load(Ordering::Acquire) {
            return false;
        }
        match self.lease {
            None => true,
            Some(lease) => match self.caught_up.load(Ordering::Acquire) {
                0 => false,
                at => now.saturating_sub(Duration::from_nanos(at)) < lease,
            },
        }
    }

    /// Whether an entry of `id` at `version` is at least as new as every change known.
    pub(crate) fn admits(&self, id: OrderId, version: i64) -> bool {
        self.admits_at(id, version, self.now_secs())
    }

    fn admits_at(&self, id: OrderId, version: i64, now: u64) -> bool {
        match self.floor(self.slot(id).load(Ordering::Acquire), now) {
            Some(floor) => version >= floor,
            None => true,
        }
    }

    /// A change committed `id` at `version`.
    pub(crate) fn raise(&self, id: OrderId, version: i64) {
        self.raise_at(id, version, self.now_secs());
    }

    fn raise_at(&self, id: OrderId, version: i64, now: u64) {
        let slot = self.slot(id);
        let version = u32::try_from(version.max(0)).unwrap_or(u32::MAX);
        let mut current = slot.load(Ordering::Acquire);
        loop {
            let kept = self.floor(current, now).map_or(0, |f| f as u32);
            let raised = (u64::from(kept.max(version)) << 32) | now;
            match slot.compare_exchange_weak(current, raised, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }

    /// A change to one of the customer's orders: pages stored for them before it may be
    /// older. `renewed_to` is the generation its writer stores for the customer after its
    /// commit when it reaches Redis, `None` when it is known not to have: unless Redis holds
    /// exactly that generation when the customer's page is next read, the generation must
    /// be renewed first.
    pub(crate) fn mark_list(&self, customer: UserId, renewed_to: Option<u64>) {
        let slot = slot_of(&self.lists, customer.get());
        let wanted = renewed_to.unwrap_or(MUST_RENEW);
        let mut current = slot.load(Ordering::Acquire);
        loop {
            // Two different changes pending: Redis can hold the generation of one at most.
            let next = if current == 0 || current == wanted {
                wanted
            } else {
                MUST_RENEW
            };
            match slot.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }

    /// This process stored `generation` for the customer of the change it names, after the
    /// change's commit.
    pub(crate) fn wrote(&self, generation: u64) {
        slot_of(&self.own_writes, generation as i64).store(generation, Ordering::Release);
    }

    /// Whether this process itself stored the generation naming a change: pages older than
    /// the change are then already invalid everywhere, and the change needs no mark.
    pub(crate) fn wrote_itself(&self, generation: u64) -> bool {
        slot_of(&self.own_writes, generation as i64).load(Ordering::Acquire) == generation
    }

    /// What the customer's next cached page must first check, if anything.
    pub(crate) fn list_mark(&self, customer: UserId) -> Option<ListMark> {
        let raw = slot_of(&self.lists, customer.get()).load(Ordering::Acquire);
        (raw != 0).then_some(ListMark(raw))
    }

    /// The generation now in Redis was stored after the changes `mark` stands for; a change
    /// marked since keeps its mark.
    pub(crate) fn list_checked(&self, customer: UserId, mark: ListMark) {
        let _ = slot_of(&self.lists, customer.get()).compare_exchange(
            mark.0,
            0,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Every change committed before `as_of` has been raised.
    pub(crate) fn caught_up(&self, as_of: Instant) {
        let at = as_of.saturating_duration_since(self.origin).as_nanos();
        let at = u64::try_from(at).unwrap_or(u64::MAX).max(1);
        self.caught_up.fetch_max(at, Ordering::AcqRel);
    }

    /// Changes may have been missed: refuse every hit until any entry they left stale has
    /// expired.
    pub(crate) fn distrust_all(&self) {
        let until = self.now_secs() + self.window.as_secs() + 1;
        self.distrust_until.fetch_max(until, Ordering::AcqRel);
    }

    /// The floor a slot holds now, if it holds one still in force.
    fn floor(&self, raw: u64, now: u64) -> Option<i64> {
        let (version, at) = (raw >> 32, raw & u64::from(u32::MAX));
        // A second's rounding either way is covered by keeping it one second longer.
        let in_force = now.saturating_sub(at) <= self.window.as_secs() + 1;
        (version > 0 && in_force).then_some(version as i64)
    }

    fn slot(&self, id: OrderId) -> &AtomicU64 {
        slot_of(&self.floors, id.get())
    }

    /// Seconds since the origin, never 0, so that a raised slot is never empty.
    fn now_secs(&self) -> u64 {
        (self.origin.elapsed().as_secs() + 1).min(u64::from(u32::MAX))
    }
}

fn table(slots: usize) -> Box<[AtomicU64]> {
    (0..slots.next_power_of_two())
        .map(|_| AtomicU64::new(0))
        .collect()
}

/// The slot of an id in a table whose length is a power of two.
fn slot_of(table: &[AtomicU64], id: i64) -> &AtomicU64 {
    // Fibonacci hashing spreads consecutive ids over the whole table.
    let hash = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let bits = table.len().trailing_zeros();
    let index = if bits == 0 {
        0
    } else {
        (hash >> (64 - bits)) as usize
    };
    &table[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> OrderId {
        OrderId::parse(n).expect("positive")
    }

    #[test]
    fn an_entry_older_than_a_known_change_is_refused_and_a_newer_one_admitted() {
        let fence = Fence::local(Duration::from_secs(600));
        assert!(fence.admits(id(7), 1), "nothing known yet");
        fence.raise(id(7), 3);
        assert!(!fence.admits(id(7), 2));
        assert!(fence.admits(id(7), 3));
        assert!(fence.admits(id(7), 4));
        fence.raise(id(7), 2);
        assert!(!fence.admits(id(7), 2), "a floor never goes down");
        assert!(fence.admits(id(8), 1), "other orders are unaffected");
    }

    #[test]
    fn orders_sharing_a_slot_only_cost_misses() {
        let fence = Fence::new(Duration::from_secs(600), None, 1, 1);
        fence.raise(id(1), 5);
        assert!(!fence.admits(id(2), 4), "the shared floor refuses");
        assert!(fence.admits(id(2), 5));
    }

    #[test]
    fn a_floor_lapses_after_its_window() {
        let fence = Fence::local(Duration::from_secs(600));
        fence.raise_at(id(1), 5, 1000);
        assert!(!fence.admits_at(id(1), 4, 1601));
        assert!(fence.admits_at(id(1), 4, 1602));
        fence.raise_at(id(1), 3, 1700);
        assert!(
            !fence.admits_at(id(1), 2, 1700) && fence.admits_at(id(1), 4, 1700),
            "a lapsed floor is replaced, not raised"
        );
    }

    #[test]
    fn a_followed_cache_is_trusted_only_within_its_lease_of_the_last_complete_read() {
        let fence = Fence::local(Duration::from_secs(600)).followed(Duration::from_millis(200));
        assert!(!fence.is_trusted(), "not before the feed was read once");
        fence.caught_up(Instant::now());
        assert!(fence.is_trusted());
        std::thread::sleep(Duration::from_millis(250));
        assert!(!fence.is_trusted(), "the lease lapsed");
        fence.caught_up(Instant::now() - Duration::from_secs(1));
        assert!(!fence.is_trusted(), "an older read does not renew it");
        fence.caught_up(Instant::now());
        assert!(fence.is_trusted());
    }

    #[test]
    fn a_page_is_trusted_after_a_change_only_under_the_generation_its_writer_stored() {
        let fence = Fence::local(Duration::from_secs(600));
        let customer = UserId::parse(3).expect("positive");
        assert_eq!(fence.list_mark(customer), None);
        fence.mark_list(customer, Some(41));
        let mark = fence.list_mark(customer).expect("marked");
        assert!(mark.satisfied_by(Some(41)));
        assert!(
            !mark.satisfied_by(Some(40)),
            "renewed by someone else since, or never"
        );
        assert!(!mark.satisfied_by(None));
        fence.mark_list(customer, Some(41));
        assert_eq!(
            fence.list_mark(customer),
            Some(mark),
            "the same change seen twice"
        );
        fence.list_checked(customer, mark);
        assert_eq!(fence.list_mark(customer), None);
    }

    #[test]
    fn a_change_this_process_renewed_for_is_known_as_such() {
        let fence = Fence::local(Duration::from_secs(600));
        fence.wrote(0xDEAD_BEEF_0000_0001);
        assert!(fence.wrote_itself(0xDEAD_BEEF_0000_0001));
        assert!(!fence.wrote_itself(0xDEAD_BEEF_0000_0002));
    }

    #[test]
    fn two_pending_changes_or_a_missed_one_always_renew() {
        let fence = Fence::local(Duration::from_secs(600));
        let customer = UserId::parse(3).expect("positive");
        fence.mark_list(customer, Some(41));
        let first = fence.list_mark(customer).expect("marked");
        fence.mark_list(customer, Some(42));
        let both = fence.list_mark(customer).expect("marked");
        assert!(!both.satisfied_by(Some(41)) && !both.satisfied_by(Some(42)));
        fence.list_checked(customer, first);
        assert_eq!(
            fence.list_mark(customer),
            Some(both),
            "a change marked while the page was checked keeps its mark"
        );
        fence.list_checked(customer, both);
        fence.mark_list(customer, None);
        let missed = fence.list_mark(customer).expect("marked");
        assert!(!missed.satisfied_by(Some(u64::MAX - 1)));
    }

    #[test]
    fn a_local_cache_needs_no_feed_but_can_be_distrusted() {
        let fence = Fence::local(Duration::from_secs(600));
        assert!(fence.is_trusted());
        fence.distrust_all();
        assert!(!fence.is_trusted());
    }
}
