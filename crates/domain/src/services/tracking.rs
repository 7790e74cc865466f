use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ports::{ChangeFeed, ChangeSubscription, Clock, OrderRepository};
use crate::services::SessionService;
use crate::{
    Caller, DomainError, EventKind, FeedEvent, FeedScope, Order, OrderEvent, OrderId, Session,
    UserId,
};

/// How watches pace themselves.
#[derive(Debug, Clone, Copy)]
pub struct WatchTiming {
    /// The longest a watch stays silent: idle connections get a keep-alive this often.
    pub keep_alive: Duration,
    /// How often a watch that is delivering changes re-checks that its token still grants
    /// them (a logout, a disable or a demotion ends the watch). Idle watches re-check at
    /// each keep-alive; they deliver nothing in between.
    pub recheck: Duration,
}

/// Order history and live order tracking.
#[derive(Clone)]
pub struct TrackingService {
    orders: Arc<dyn OrderRepository>,
    feed: Arc<dyn ChangeFeed>,
    sessions: SessionService,
    clock: Arc<dyn Clock>,
    timing: WatchTiming,
}

impl TrackingService {
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        feed: Arc<dyn ChangeFeed>,
        sessions: SessionService,
        clock: Arc<dyn Clock>,
        timing: WatchTiming,
    ) -> Self {
        Self {
            orders,
            feed,
            sessions,
            clock,
            timing,
        }
    }

    /// Every status change of an order, oldest first, for its owner or an admin.
    pub async fn history(
        &self,
        caller: Caller,
        id: OrderId,
    ) -> Result<Vec<OrderEvent>, DomainError> {
        load(&*self.orders, id).await?.ensure_visible_to(caller)?;
        self.orders.history(id).await
    }

    /// One order as it is now (unless the caller has seen this version already) and then
    /// each later change, ending after a terminal status. The session is checked again
    /// while the watch lasts.
    pub async fn watch_order(
        &self,
        session: Session,
        id: OrderId,
        last_seen: Option<i64>,
    ) -> Result<OrderWatch, DomainError> {
        let caller = session.caller;
        // Subscribed before the read, so that a change committed after the read is heard.
        let subscription = self.feed.subscribe(FeedScope::Order(id));
        let order = load(&*self.orders, id).await?;
        order.ensure_visible_to(caller)?;
        let newer = last_seen.is_none_or(|seen| order.version > seen);
        let mut watch = self.watch(
            subscription,
            Target::One {
                id,
                owner: order.customer_id,
                last_version: order.version,
            },
            session,
        );
        if newer {
            watch.pending = Some(order);
        } else if order.status.is_terminal() {
            watch.ended = true;
        }
        Ok(watch)
    }

    /// Every change of any of the caller's orders, their creation included, from now on.
    pub fn watch_mine(&self, session: Session) -> OrderWatch {
        let customer = session.caller.user_id;
        let subscription = self.feed.subscribe(FeedScope::Customer(customer));
        self.watch(subscription, Target::Customer(customer), session)
    }

    /// Every change of every order, from now on; admins only.
    pub fn watch_all(&self, session: Session) -> Result<OrderWatch, DomainError> {
        session.caller.ensure_admin()?;
        let subscription = self.feed.subscribe(FeedScope::All);
        Ok(self.watch(subscription, Target::All, session))
    }

    fn watch(
        &self,
        subscription: Box<dyn ChangeSubscription>,
        target: Target,
        session: Session,
    ) -> OrderWatch {
        let now = Instant::now();
        OrderWatch {
            subscription,
            target,
            pending: None,
            ended: false,
            orders: self.orders.clone(),
            sessions: self.sessions.clone(),
            clock: self.clock.clone(),
            session,
            timing: self.timing,
            checked_at: now,
            spoke_at: now,
        }
    }
}

async fn load(orders: &dyn OrderRepository, id: OrderId) -> Result<Order, DomainError> {
    orders
        .find_by_id(id)
        .await?
        .ok_or(DomainError::NotFound("order"))
}

/// What a watch has to say next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchItem {
    /// The order, and the kind of the change that left it so; `None` for the order as it
    /// was when the watch began (or was read again after the watch fell behind).
    Order(Order, Option<EventKind>),
    /// Nothing happened for a while; the connection should hear that it is alive.
    KeepAlive,
    /// The watch is over: its order reached a terminal status, the token no longer grants
    /// it, it fell behind the feed, or the process is shutting down.
    End,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    One {
        id: OrderId,
        owner: UserId,
        last_version: i64,
    },
    Customer(UserId),
    All,
}

/// A live view of orders' changes; see `TrackingService`.
pub struct OrderWatch {
    subscription: Box<dyn ChangeSubscription>,
    target: Target,
    pending: Option<Order>,
    ended: bool,
    orders: Arc<dyn OrderRepository>,
    sessions: SessionService,
    clock: Arc<dyn Clock>,
    session: Session,
    timing: WatchTiming,
    checked_at: Instant,
    spoke_at: Instant,
}

impl OrderWatch {
    pub async fn next(&mut self) -> WatchItem {
        loop {
            if self.ended {
                return WatchItem::End;
            }
            if let Some(order) = self.pending.take() {
                return self.emit(order, None);
            }
            let idle = self
                .timing
                .keep_alive
                .saturating_sub(self.spoke_at.elapsed());
            match self.subscription.next(idle).await {
                FeedEvent::Changed(change) => {
                    if !self.is_new(&change.order) {
                        continue;
                    }
                    if self.checked_at.elapsed() >= self.timing.recheck
                        && !self.still_granted().await
                    {
                        return self.end();
                    }
                    return self.emit(change.order.clone(), Some(change.kind));
                }
                FeedEvent::Idle => {
                    if !self.still_granted().await {
                        return self.end();
                    }
                    self.spoke_at = Instant::now();
                    return WatchItem::KeepAlive;
                }
                FeedEvent::Gap => match self.target {
                    Target::One { id, .. } => match self.orders.find_by_id(id).await {
                        Ok(Some(order)) if self.is_new(&order) => self.pending = Some(order),
                        Ok(Some(_)) => {}
                        Ok(None) => return self.end(),
                        Err(err) => {
                            tracing::warn!(order_id = id.get(), error = %err.chain(), "re-reading a watched order failed; ending the watch");
                            return self.end();
                        }
                    },
                    // Which of many orders changed is unknown: the client reconnects and
                    // reads its lists again.
                    Target::Customer(_) | Target::All => return self.end(),
                },
                FeedEvent::Closed => return self.end(),
            }
        }
    }

    fn is_new(&self, order: &Order) -> bool {
        match self.target {
            Target::One { last_version, .. } => order.version > last_version,
            Target::Customer(_) | Target::All => true,
        }
    }

    fn emit(&mut self, order: Order, kind: Option<EventKind>) -> WatchItem {
        if let Target::One { last_version, .. } = &mut self.target {
            *last_version = order.version;
            self.ended = order.status.is_terminal();
        }
        self.spoke_at = Instant::now();
        WatchItem::Order(order, kind)
    }

    fn end(&mut self) -> WatchItem {
        self.ended = true;
        WatchItem::End
    }

    async fn still_granted(&mut self) -> bool {
        self.checked_at = Instant::now();
        let caller = match self.sessions.recheck(&self.session, self.clock.now()).await {
            Ok(session) => session.caller,
            Err(err) => {
                tracing::info!(error = %err, "a watch's session no longer grants it; ending the watch");
                return false;
            }
        };
        match self.target {
            Target::One { owner, .. } => caller.is_admin() || caller.user_id == owner,
            Target::Customer(customer) => caller.user_id == customer,
            Target::All => caller.is_admin(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::ports::{MockAccountStates, MockChangeFeed, MockOrderRepository, MockTokenService};
    use crate::services::fixtures::{admin, customer, fixed_clock, oid, order, uid, T0};
    use crate::OrderStatus::*;
    use crate::{AccountStatus, Role, TokenId};

    /// A subscription that plays back a script, then says the feed closed.
    struct Script(VecDeque<FeedEvent>);

    #[async_trait::async_trait]
    impl ChangeSubscription for Script {
        async fn next(&mut self, _idle: Duration) -> FeedEvent {
            self.0.pop_front().unwrap_or(FeedEvent::Closed)
        }
    }

    fn changed(order: Order) -> FeedEvent {
        FeedEvent::Changed(Arc::new(crate::OrderChange {
            order,
            kind: crate::EventKind::StatusChanged,
        }))
    }

    fn feed_playing(events: Vec<FeedEvent>, scope: FeedScope) -> MockChangeFeed {
        let script = Mutex::new(Some(Script(events.into())));
        let mut feed = MockChangeFeed::new();
        feed.expect_subscribe()
            .withf(move |s| *s == scope)
            .times(1)
            .returning(move |_| {
                Box::new(
                    script
                        .lock()
                        .unwrap()
                        .take()
                        .expect("one subscription per test"),
                )
            });
        feed
    }

    /// The account behind every session: its role and disabled flag are read live.
    fn sessions(account: Arc<Mutex<AccountStatus>>) -> SessionService {
        // Watches re-check their session, never a token: nothing is verified again.
        let tokens = MockTokenService::new();
        let mut states = MockAccountStates::new();
        states
            .expect_status()
            .returning(move |_, _| Ok(Some(*account.lock().unwrap())));
        SessionService::new(Arc::new(tokens), Arc::new(states), fixed_clock())
    }

    fn account(role: Role) -> Arc<Mutex<AccountStatus>> {
        Arc::new(Mutex::new(AccountStatus {
            role,
            disabled: false,
            token_revoked: false,
            tokens_valid_after: None,
            token_kept: false,
        }))
    }

    const TIMING: WatchTiming = WatchTiming {
        keep_alive: Duration::from_secs(15),
        recheck: Duration::ZERO,
    };

    fn tracking(repo: MockOrderRepository, feed: MockChangeFeed, role: Role) -> TrackingService {
        TrackingService::new(
            Arc::new(repo),
            Arc::new(feed),
            sessions(account(role)),
            fixed_clock(),
            TIMING,
        )
    }

    /// A session of token t1, valid for a day after the fixed clock's now.
    fn session(caller: Caller) -> Session {
        Session {
            caller,
            token_id: TokenId::new("t1".into()),
            issued_at: T0,
            expires_at: T0 + chrono::Duration::days(1),
        }
    }

    fn repo_holding(stored: Order) -> MockOrderRepository {
        let mut repo = MockOrderRepository::new();
        repo.expect_find_by_id()
            .returning(move |_| Ok(Some(stored.clone())));
        repo
    }

    async fn drain(watch: &mut OrderWatch) -> Vec<WatchItem> {
        let mut items = Vec::new();
        loop {
            let item = watch.next().await;
            let end = item == WatchItem::End;
            items.push(item);
            if end {
                return items;
            }
        }
    }

    fn statuses(items: &[WatchItem]) -> Vec<(crate::OrderStatus, i64)> {
        items
            .iter()
            .filter_map(|i| match i {
                WatchItem::Order(o, _) => Some((o.status, o.version)),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn an_order_watch_sends_the_order_now_then_each_newer_change_until_terminal() {
        let feed = feed_playing(
            vec![
                changed(order(1, 7, Created, 1)),
                changed(order(1, 7, Dispatched, 2)),
                FeedEvent::Idle,
                changed(order(1, 7, Dispatched, 2)),
                changed(order(1, 7, Cancelled, 3)),
                changed(order(1, 7, Cancelled, 4)),
            ],
            FeedScope::Order(oid(1)),
        );
        let svc = tracking(repo_holding(order(1, 7, Created, 1)), feed, Role::Customer);
        let mut watch = svc
            .watch_order(session(customer(7)), oid(1), None)
            .await
            .unwrap();
        let items = drain(&mut watch).await;
        assert_eq!(
            statuses(&items),
            vec![(Created, 1), (Dispatched, 2), (Cancelled, 3)]
        );
        assert!(items.contains(&WatchItem::KeepAlive));
    }

    #[tokio::test]
    async fn a_resumed_watch_skips_what_the_client_has_seen() {
        let feed = feed_playing(
            vec![changed(order(1, 7, InTransit, 3))],
            FeedScope::Order(oid(1)),
        );
        let svc = tracking(
            repo_holding(order(1, 7, Dispatched, 2)),
            feed,
            Role::Customer,
        );
        let mut watch = svc
            .watch_order(session(customer(7)), oid(1), Some(2))
            .await
            .unwrap();
        assert_eq!(statuses(&drain(&mut watch).await), vec![(InTransit, 3)]);
    }

    #[tokio::test]
    async fn a_resumed_watch_of_a_finished_order_ends_at_once() {
        let feed = feed_playing(vec![], FeedScope::Order(oid(1)));
        let svc = tracking(
            repo_holding(order(1, 7, Delivered, 4)),
            feed,
            Role::Customer,
        );
        let mut watch = svc
            .watch_order(session(customer(7)), oid(1), Some(4))
            .await
            .unwrap();
        assert_eq!(drain(&mut watch).await, vec![WatchItem::End]);
    }

    #[tokio::test]
    async fn someone_elses_order_cannot_be_watched() {
        let feed = feed_playing(vec![], FeedScope::Order(oid(1)));
        let svc = tracking(repo_holding(order(1, 8, Created, 1)), feed, Role::Customer);
        assert!(matches!(
            svc.watch_order(session(customer(7)), oid(1), None).await,
            Err(DomainError::NotFound("order"))
        ));
    }

    #[tokio::test]
    async fn after_a_gap_an_order_watch_rereads_the_order() {
        let feed = feed_playing(vec![FeedEvent::Gap], FeedScope::Order(oid(1)));
        let mut repo = MockOrderRepository::new();
        let mut reads = 0;
        repo.expect_find_by_id().returning(move |_| {
            reads += 1;
            Ok(Some(if reads == 1 {
                order(1, 7, Created, 1)
            } else {
                order(1, 7, Delivered, 4)
            }))
        });
        let svc = tracking(repo, feed, Role::Customer);
        let mut watch = svc
            .watch_order(session(customer(7)), oid(1), None)
            .await
            .unwrap();
        assert_eq!(
            statuses(&drain(&mut watch).await),
            vec![(Created, 1), (Delivered, 4)]
        );
    }

    #[tokio::test]
    async fn a_many_order_watch_ends_after_a_gap_and_at_shutdown() {
        let feed = feed_playing(
            vec![changed(order(1, 7, Created, 1)), FeedEvent::Gap],
            FeedScope::Customer(uid(7)),
        );
        let svc = tracking(MockOrderRepository::new(), feed, Role::Customer);
        let mut watch = svc.watch_mine(session(customer(7)));
        assert_eq!(statuses(&drain(&mut watch).await), vec![(Created, 1)]);
    }

    #[tokio::test]
    async fn only_admins_watch_every_order() {
        let svc = tracking(
            MockOrderRepository::new(),
            MockChangeFeed::new(),
            Role::Customer,
        );
        assert!(matches!(
            svc.watch_all(session(customer(7))),
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn a_watch_ends_once_its_token_no_longer_grants_it() {
        let feed = feed_playing(
            vec![
                changed(order(1, 7, Created, 1)),
                changed(order(2, 8, Created, 1)),
            ],
            FeedScope::All,
        );
        let account = account(Role::Admin);
        let svc = TrackingService::new(
            Arc::new(MockOrderRepository::new()),
            Arc::new(feed),
            sessions(account.clone()),
            fixed_clock(),
            TIMING,
        );
        let mut watch = svc.watch_all(session(admin(7))).unwrap();
        assert!(matches!(watch.next().await, WatchItem::Order(..)));
        account.lock().unwrap().role = Role::Customer;
        assert_eq!(watch.next().await, WatchItem::End);
    }

    #[tokio::test]
    async fn a_watch_ends_when_its_token_expires() {
        let feed = feed_playing(
            vec![changed(order(1, 7, Created, 1))],
            FeedScope::Customer(uid(7)),
        );
        let svc = tracking(MockOrderRepository::new(), feed, Role::Customer);
        let expired = Session {
            expires_at: T0,
            ..session(customer(7))
        };
        let mut watch = svc.watch_mine(expired);
        assert_eq!(watch.next().await, WatchItem::End);
    }

    #[tokio::test]
    async fn history_is_for_the_owner_and_admins() {
        let mut repo = repo_holding(order(1, 7, Created, 1));
        repo.expect_history().returning(|id| {
            Ok(vec![OrderEvent {
                id: 1,
                order_id: id,
                kind: crate::EventKind::Created,
                from: None,
                to: Created,
                actor: crate::ActorKind::Customer,
                actor_id: Some(uid(7)),
                at: T0,
            }])
        });
        let svc = tracking(repo, MockChangeFeed::new(), Role::Customer);
        assert_eq!(svc.history(customer(7), oid(1)).await.unwrap().len(), 1);
        assert_eq!(svc.history(admin(1), oid(1)).await.unwrap().len(), 1);
        assert!(matches!(
            svc.history(customer(8), oid(1)).await,
            Err(DomainError::NotFound("order"))
        ));
    }
}
