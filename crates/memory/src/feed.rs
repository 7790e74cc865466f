//! One process's change feed: committed changes routed to the subscribers that watch them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use trachios_domain::ports::{ChangeFeed, ChangePublisher, ChangeSubscription};
use trachios_domain::{FeedEvent, FeedScope, OrderChange, OrderId, UserId};

/// Changes one subscriber may have queued before it counts as fallen behind; it is then
/// told of a gap instead of holding an unbounded backlog. Several of the largest batches a
/// publisher hands over at once fit (a lifecycle batch reaches a subscriber of every order
/// whole); the queue takes memory only for what is actually queued.
pub const SUBSCRIBER_BACKLOG: usize = 16_384;

/// Routes each change to the subscribers of its order, of its customer, and of everything:
/// a change costs work only for those who watch it, whatever the number of streams.
#[derive(Clone, Default)]
pub struct ChangeHub {
    routes: Arc<Mutex<Routes>>,
}

#[derive(Default)]
struct Routes {
    next_id: u64,
    closed: bool,
    by_order: HashMap<OrderId, HashMap<u64, Inbox>>,
    by_customer: HashMap<UserId, HashMap<u64, Inbox>>,
    all: HashMap<u64, Inbox>,
}

/// The sending end of one subscription.
#[derive(Clone)]
struct Inbox {
    tx: mpsc::Sender<FeedEvent>,
    fell_behind: Arc<AtomicBool>,
}

impl Inbox {
    fn deliver(&self, change: &Arc<OrderChange>) {
        if self
            .tx
            .try_send(FeedEvent::Changed(change.clone()))
            .is_err()
        {
            self.fell_behind.store(true, Ordering::Release);
        }
    }
}

impl Routes {
    fn table(&mut self, scope: FeedScope) -> Option<&mut HashMap<u64, Inbox>> {
        match scope {
            FeedScope::Order(id) => self.by_order.get_mut(&id),
            FeedScope::Customer(id) => self.by_customer.get_mut(&id),
            FeedScope::All => Some(&mut self.all),
        }
    }

    fn remove(&mut self, scope: FeedScope, id: u64) {
        if let Some(table) = self.table(scope) {
            table.remove(&id);
        }
        // Empty per-order and per-customer tables go, so that the maps only ever hold
        // what is watched now.
        match scope {
            FeedScope::Order(order) => {
                if self.by_order.get(&order).is_some_and(HashMap::is_empty) {
                    self.by_order.remove(&order);
                }
            }
            FeedScope::Customer(customer) => {
                if self
                    .by_customer
                    .get(&customer)
                    .is_some_and(HashMap::is_empty)
                {
                    self.by_customer.remove(&customer);
                }
            }
            FeedScope::All => {}
        }
    }

    fn inboxes(&self) -> impl Iterator<Item = &Inbox> {
        self.all
            .values()
            .chain(self.by_order.values().flat_map(HashMap::values))
            .chain(self.by_customer.values().flat_map(HashMap::values))
    }
}

impl ChangeHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends every subscription and refuses new ones: streams finish so that a graceful
    /// shutdown does not wait for clients that would never hang up.
    pub fn close(&self) {
        let mut routes = self.lock();
        routes.closed = true;
        routes.by_order.clear();
        routes.by_customer.clear();
        routes.all.clear();
    }

    /// Subscriptions open now.
    pub fn subscribers(&self) -> usize {
        self.lock().inboxes().count()
    }

    fn lock(&self) -> MutexGuard<'_, Routes> {
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ChangeFeed for ChangeHub {
    fn subscribe(&self, scope: FeedScope) -> Box<dyn ChangeSubscription> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BACKLOG);
        let fell_behind = Arc::new(AtomicBool::new(false));
        let mut routes = self.lock();
        let id = routes.next_id;
        routes.next_id += 1;
        if !routes.closed {
            let inbox = Inbox {
                tx,
                fell_behind: fell_behind.clone(),
            };
            let table = match scope {
                FeedScope::Order(order) => routes.by_order.entry(order).or_default(),
                FeedScope::Customer(customer) => routes.by_customer.entry(customer).or_default(),
                FeedScope::All => &mut routes.all,
            };
            table.insert(id, inbox);
        }
        // On a closed hub the sender is dropped here, and the subscription reads `Closed`.
        Box::new(HubSubscription {
            id,
            scope,
            rx,
            fell_behind,
            routes: Arc::downgrade(&self.routes),
        })
    }
}

impl ChangePublisher for ChangeHub {
    fn wants(&self, order: OrderId, customer: UserId) -> bool {
        let routes = self.lock();
        !routes.all.is_empty()
            || routes.by_order.contains_key(&order)
            || routes.by_customer.contains_key(&customer)
    }

    fn publish(&self, changes: Vec<OrderChange>) {
        let routes = self.lock();
        for change in changes {
            let change = Arc::new(change);
            let order = &change.order;
            let watchers = routes
                .all
                .values()
                .chain(
                    routes
                        .by_order
                        .get(&order.id)
                        .into_iter()
                        .flat_map(HashMap::values),
                )
                .chain(
                    routes
                        .by_customer
                        .get(&order.customer_id)
                        .into_iter()
                        .flat_map(HashMap::values),
                );
            for inbox in watchers {
                inbox.deliver(&change);
            }
        }
    }
}

struct HubSubscription {
    id: u64,
    scope: FeedScope,
    rx: mpsc::Receiver<FeedEvent>,
    fell_behind: Arc<AtomicBool>,
    routes: std::sync::Weak<Mutex<Routes>>,
}

#[async_trait]
impl ChangeSubscription for HubSubscription {
    async fn next(&mut self, idle: Duration) -> FeedEvent {
        if self.fell_behind.swap(false, Ordering::AcqRel) {
            return FeedEvent::Gap;
        }
        match tokio::time::timeout(idle, self.rx.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => FeedEvent::Closed,
            Err(_elapsed) => FeedEvent::Idle,
        }
    }
}

impl Drop for HubSubscription {
    fn drop(&mut self) {
        if let Some(routes) = self.routes.upgrade() {
            routes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(self.scope, self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use trachios_domain::{EventKind, ItemDescription, Order, OrderStatus};

    use super::*;

    const IDLE: Duration = Duration::from_millis(50);

    fn order(id: i64, customer: i64, version: i64) -> OrderChange {
        let t = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let order = Order {
            id: OrderId::parse(id).unwrap(),
            customer_id: UserId::parse(customer).unwrap(),
            item_description: ItemDescription::parse("Laptop").unwrap(),
            details: Default::default(),
            status: OrderStatus::Created,
            version,
            next_step_at: Some(t),
            created_at: t,
            updated_at: t,
        };
        OrderChange {
            order,
            kind: EventKind::StatusChanged,
        }
    }

    fn oid(n: i64) -> OrderId {
        OrderId::parse(n).unwrap()
    }

    fn uid(n: i64) -> UserId {
        UserId::parse(n).unwrap()
    }

    async fn heard(sub: &mut Box<dyn ChangeSubscription>) -> Vec<(i64, i64)> {
        let mut seen = Vec::new();
        while let FeedEvent::Changed(o) = sub.next(IDLE).await {
            seen.push((o.order.id.get(), o.order.version));
        }
        seen
    }

    #[tokio::test]
    async fn each_subscriber_hears_the_changes_in_its_scope_in_order() {
        let hub = ChangeHub::new();
        let mut one = hub.subscribe(FeedScope::Order(oid(1)));
        let mut mine = hub.subscribe(FeedScope::Customer(uid(7)));
        let mut all = hub.subscribe(FeedScope::All);
        hub.publish(vec![
            order(1, 7, 1),
            order(2, 8, 1),
            order(1, 7, 2),
            order(3, 7, 1),
        ]);
        assert_eq!(heard(&mut one).await, vec![(1, 1), (1, 2)]);
        assert_eq!(heard(&mut mine).await, vec![(1, 1), (1, 2), (3, 1)]);
        assert_eq!(heard(&mut all).await, vec![(1, 1), (2, 1), (1, 2), (3, 1)]);
    }

    #[tokio::test]
    async fn a_quiet_feed_says_idle() {
        let hub = ChangeHub::new();
        let mut sub = hub.subscribe(FeedScope::All);
        assert_eq!(sub.next(IDLE).await, FeedEvent::Idle);
    }

    #[tokio::test]
    async fn only_watched_orders_are_wanted_and_dropped_subscriptions_leave_no_trace() {
        let hub = ChangeHub::new();
        assert!(!hub.wants(oid(1), uid(7)));
        let one = hub.subscribe(FeedScope::Order(oid(1)));
        let mine = hub.subscribe(FeedScope::Customer(uid(7)));
        assert!(hub.wants(oid(1), uid(9)));
        assert!(hub.wants(oid(5), uid(7)));
        assert!(!hub.wants(oid(5), uid(9)));
        drop((one, mine));
        assert!(!hub.wants(oid(1), uid(7)));
        assert_eq!(hub.subscribers(), 0);
        let routes = hub.lock();
        assert!(routes.by_order.is_empty() && routes.by_customer.is_empty());
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_of_a_gap_first() {
        let hub = ChangeHub::new();
        let mut slow = hub.subscribe(FeedScope::All);
        hub.publish(
            (1..=SUBSCRIBER_BACKLOG as i64 + 10)
                .map(|v| order(1, 7, v))
                .collect(),
        );
        assert_eq!(slow.next(IDLE).await, FeedEvent::Gap);
        // What was queued before it fell behind is still there, oldest first.
        assert!(matches!(slow.next(IDLE).await, FeedEvent::Changed(o) if o.order.version == 1));
    }

    #[tokio::test]
    async fn a_whole_lifecycle_batch_reaches_a_subscriber_of_every_order() {
        let hub = ChangeHub::new();
        let mut all = hub.subscribe(FeedScope::All);
        hub.publish((1..=8192).map(|id| order(id, 7, 2)).collect());
        let heard = heard(&mut all).await;
        assert_eq!(heard.len(), 8192, "no gap, nothing dropped");
        assert_eq!(heard.last(), Some(&(8192, 2)));
    }

    #[tokio::test]
    async fn closing_ends_every_subscription_and_refuses_new_ones() {
        let hub = ChangeHub::new();
        let mut before = hub.subscribe(FeedScope::Customer(uid(7)));
        hub.close();
        let mut after = hub.subscribe(FeedScope::All);
        assert_eq!(before.next(IDLE).await, FeedEvent::Closed);
        assert_eq!(after.next(IDLE).await, FeedEvent::Closed);
        assert_eq!(hub.subscribers(), 0);
    }
}
