use std::sync::Arc;

use bytes::Bytes;
use chrono::Duration;

use super::telemetry;
use crate::ports::{Clock, OrderCache, OrderRenderer, OrderRepository};
use crate::render_order;
use crate::{
    ActorKind, CachedPage, Caller, Creation, DomainError, IdempotencyKey, KeyClaim, KeyedInsert,
    Order, OrderEdit, OrderFilter, OrderId, OrderItems, OrderRequest, OrderStatus, Page,
    PageRequest, RenderedOrder, RenderedPage, RequestFingerprint, StatusChange, UserId,
    IDEMPOTENCY_KEY_LIFETIME,
};

/// A change that keeps losing its compare-and-set is given up after this many tries; the
/// lifecycle moves an order at most three times, so honest contention never gets here.
const MAX_CAS_ATTEMPTS: usize = 8;

/// Placing, reading, cancelling and overriding orders: loads the order, lets it decide,
/// stores what it decided.
#[derive(Clone)]
pub struct OrderService {
    pub(super) orders: Arc<dyn OrderRepository>,
    cache: Arc<dyn OrderCache>,
    /// The renderer the cache keeps orders with, for the orders read past it.
    renderer: Arc<dyn OrderRenderer>,
    pub(super) clock: Arc<dyn Clock>,
    step: Duration,
    /// `OPEN_ORDERS_PER_USER`; `None` sets no bound.
    open_orders_limit: Option<u32>,
    /// `FREE_TEXT_ORDERS`: whether an order may be one line of free text (v1's body).
    free_text_orders: bool,
}

impl OrderService {
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        cache: Arc<dyn OrderCache>,
        renderer: Arc<dyn OrderRenderer>,
        clock: Arc<dyn Clock>,
        step: Duration,
    ) -> Self {
        Self {
            orders,
            cache,
            renderer,
            clock,
            step,
            open_orders_limit: None,
            free_text_orders: true,
        }
    }

    /// Whether an order may be one line of free text; a shop that sells only its catalog
    /// turns it off.
    pub fn with_free_text_orders(mut self, allowed: bool) -> Self {
        self.free_text_orders = allowed;
        self
    }

    fn ensure_accepts(&self, request: &OrderRequest) -> Result<(), DomainError> {
        if !self.free_text_orders && matches!(request.items, OrderItems::FreeText(_)) {
            return Err(DomainError::Validation(
                "lines are required: this server takes orders for products of its catalog, not item_description"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Bounds how many unfinished orders one customer may have (`None` or 0: no bound),
    /// so that one account cannot fill the table.
    pub fn with_open_orders_limit(mut self, limit: Option<u32>) -> Self {
        self.open_orders_limit = limit.filter(|n| *n > 0);
        self
    }

    /// Refuses a new order to a customer at the bound. Creations by one customer running
    /// at the same moment may each pass it (the per-user rate limit bounds how many): it
    /// keeps one account from filling the table; it is not an exact count.
    async fn ensure_may_open_another(&self, customer: UserId) -> Result<(), DomainError> {
        let Some(limit) = self.open_orders_limit else {
            return Ok(());
        };
        if self.orders.count_open(customer, limit).await? >= limit {
            return Err(DomainError::TooManyOpenOrders { limit });
        }
        Ok(())
    }

    /// Places an order for the caller.
    pub async fn create(
        &self,
        caller: Caller,
        request: OrderRequest,
    ) -> Result<Order, DomainError> {
        self.ensure_accepts(&request)?;
        self.ensure_may_open_another(caller.user_id).await?;
        let new = Order::place(caller.user_id, request, self.clock.now(), self.step);
        let order = self.orders.insert(new).await?;
        self.created(&order).await;
        Ok(order)
    }

    /// Places an order for the caller under an idempotency key: the first request with the
    /// key creates it, a repeat of that request gets the same answer and creates nothing,
    /// another request under the key is refused.
    pub async fn create_once(
        &self,
        caller: Caller,
        request: OrderRequest,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
    ) -> Result<Creation, DomainError> {
        self.ensure_accepts(&request)?;
        let now = self.clock.now();
        let outcome = match self.ensure_may_open_another(caller.user_id).await {
            Ok(()) => {
                let new = Order::place(caller.user_id, request, now, self.step);
                let claim = KeyClaim {
                    key,
                    fingerprint,
                    expires_at: now + IDEMPOTENCY_KEY_LIFETIME,
                };
                self.orders.insert_keyed(new, claim).await?
            }
            // At the bound a repeat of a request that placed an order still gets its answer:
            // it places nothing.
            Err(refused) => self
                .orders
                .find_claim(caller.user_id, &key, now)
                .await?
                .ok_or(refused)?,
        };
        match outcome {
            KeyedInsert::Inserted(order) => {
                self.created(&order).await;
                Ok(Creation::Created(order))
            }
            KeyedInsert::Taken {
                fingerprint: first,
                kept,
            } if first == fingerprint => {
                tracing::info!(order_id = kept.id.get(), "order creation replayed");
                Ok(Creation::Replayed(kept))
            }
            KeyedInsert::Taken { .. } => Err(DomainError::KeyReused),
        }
    }

    /// Forgets idempotency keys past their lifetime, a batch at a time.
    pub async fn purge_expired_keys(&self, batch: i64) -> Result<u64, DomainError> {
        self.orders
            .purge_expired_keys(self.clock.now(), batch)
            .await
    }

    /// One order as the API shows it, for its owner or an admin.
    pub async fn get(&self, caller: Caller, id: OrderId) -> Result<RenderedOrder, DomainError> {
        let order = match self.cache.get(id).await {
            Ok(Some(order)) => order,
            Ok(None) | Err(_) => {
                let order = self.load(id).await?;
                if let Err(err) = self.cache.put(&order).await {
                    tracing::debug!(order_id = id.get(), error = %err.chain(), "cache fill skipped");
                }
                render_order(&*self.renderer, &order)?
            }
        };
        order.ensure_visible_to(caller)?;
        Ok(order)
    }

    /// One page of the caller's own orders, newest first, rendered by `render`. The first
    /// page of the whole list is served from the cache while none of the caller's orders
    /// has changed since it was stored (see `page_cache`).
    pub async fn list_mine(
        &self,
        caller: Caller,
        filter: OrderFilter,
        page: PageRequest,
        render: impl FnOnce(Vec<Order>) -> Result<Bytes, DomainError>,
    ) -> Result<RenderedPage, DomainError> {
        let customer = caller.user_id;
        let filter = filter.for_customer(customer);
        if page.before.is_some() || !filter.is_all_orders_of(customer) {
            return rendered(self.list(filter, page).await?, render);
        }
        let generation = match self.cache.first_page(customer, page.size).await {
            Ok(CachedPage::Hit(rendered)) => return Ok(rendered),
            Ok(CachedPage::Miss(generation)) => Some(generation),
            Ok(CachedPage::Bypass) => None,
            Err(err) => {
                tracing::debug!(error = %err.chain(), "list cache skipped");
                None
            }
        };
        let rendered = rendered(self.list(filter, page).await?, render)?;
        if let Some(generation) = generation {
            if let Err(err) = self
                .cache
                .put_first_page(customer, page.size, generation, &rendered)
                .await
            {
                tracing::debug!(error = %err.chain(), "list cache fill skipped");
            }
        }
        Ok(rendered)
    }

    /// One page of every order (or one customer's), newest first; admins only.
    pub async fn list_all(
        &self,
        caller: Caller,
        filter: OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, DomainError> {
        caller.ensure_admin()?;
        self.list(filter, page).await
    }

    async fn list(
        &self,
        filter: OrderFilter,
        page: PageRequest,
    ) -> Result<Page<Order>, DomainError> {
        let rows = self
            .orders
            .list(&filter, page.before, page.size.fetch_limit())
            .await?;
        Ok(Page::from_overfetch(rows, page.size, |o| o.id.get()))
    }

    /// The owner cancels an order that is not yet delivered.
    pub async fn cancel(&self, caller: Caller, id: OrderId) -> Result<Order, DomainError> {
        self.change(id, |order, now| {
            order.cancel(caller, now, self.step).map(Some)
        })
        .await
    }

    /// An admin cancels an order that is not yet delivered (see `Order::cancel_as_admin`).
    pub async fn cancel_as_admin(&self, caller: Caller, id: OrderId) -> Result<Order, DomainError> {
        caller.ensure_admin()?;
        self.change(id, |order, now| {
            order.cancel_as_admin(caller, now, self.step).map(Some)
        })
        .await
    }

    /// The owner or an admin edits an order's lines, address or note while it is
    /// `created` (see `Order::edit`). An edit racing an automatic step either lands before
    /// it or finds the order gone on and is refused.
    pub async fn edit(
        &self,
        caller: Caller,
        id: OrderId,
        edit: OrderEdit,
    ) -> Result<Order, DomainError> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let order = self.load(id).await?;
            let pending = order.edit(caller, edit.clone(), self.clock.now())?;
            let actor = pending.actor;
            match self.orders.edit(pending).await? {
                Some(edited) => {
                    tracing::info!(
                        order_id = id.get(),
                        version = edited.version,
                        actor = %actor.kind(),
                        actor_id = actor.user_id().map(|id| id.get()),
                        "order edited"
                    );
                    self.remember(std::slice::from_ref(&edited)).await;
                    return Ok(edited);
                }
                None => {
                    tracing::debug!(order_id = id.get(), "edit lost a race; retrying")
                }
            }
        }
        Err(DomainError::Contended)
    }

    /// Only admins list every order; callers may ask before parsing the filters.
    pub fn ensure_may_list_all(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_admin()
    }

    /// Only admins override statuses; callers may ask before parsing the requested status,
    /// so that a customer learns nothing about which values would be accepted.
    pub fn ensure_may_override(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_admin()
    }

    /// An admin sets any status (see `Order::override_to`).
    pub async fn set_status(
        &self,
        caller: Caller,
        id: OrderId,
        to: OrderStatus,
    ) -> Result<Order, DomainError> {
        caller.ensure_admin()?;
        self.change(id, |order, now| {
            order.override_to(to, caller, now, self.step)
        })
        .await
    }

    /// Loads the order, lets `decide` make its change (`None`: the order stays as it is)
    /// and stores it if the order has not changed meanwhile, deciding again if it has.
    async fn change(
        &self,
        id: OrderId,
        decide: impl Fn(
            &Order,
            chrono::DateTime<chrono::Utc>,
        ) -> Result<Option<StatusChange>, DomainError>,
    ) -> Result<Order, DomainError> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let order = self.load(id).await?;
            let Some(change) = decide(&order, self.clock.now())? else {
                return Ok(order);
            };
            if let Some(updated) = self.apply(change).await? {
                return Ok(updated);
            }
        }
        Err(DomainError::Contended)
    }

    async fn apply(&self, change: StatusChange) -> Result<Option<Order>, DomainError> {
        let (order_id, from, to, actor) = (change.order_id, change.from, change.to, change.actor);
        let updated = self.orders.transition(change).await?;
        match &updated {
            Some(order) => {
                tracing::info!(
                    order_id = order_id.get(),
                    %from,
                    %to,
                    actor = %actor.kind(),
                    actor_id = actor.user_id().map(|id| id.get()),
                    "order status changed"
                );
                telemetry::order_transition(actor.kind(), to);
                self.remember(std::slice::from_ref(order)).await;
            }
            None => {
                tracing::debug!(order_id = order_id.get(), %from, %to, "status change lost a race; retrying")
            }
        }
        Ok(updated)
    }

    async fn load(&self, id: OrderId) -> Result<Order, DomainError> {
        self.orders
            .find_by_id(id)
            .await?
            .ok_or(DomainError::NotFound("order"))
    }

    /// What follows every stored creation: the cache, the log line, the count.
    async fn created(&self, order: &Order) {
        self.remember(std::slice::from_ref(order)).await;
        tracing::info!(
            order_id = order.id.get(),
            customer_id = order.customer_id.get(),
            "order created"
        );
        telemetry::order_transition(ActorKind::Customer, OrderStatus::Created);
    }

    /// Tells the cache of a change about to be acknowledged. When the cache cannot take it,
    /// the answer waits until no process can serve an older version any more: a read after
    /// an acknowledged write never sees what it replaced, through any process.
    async fn remember(&self, orders: &[Order]) {
        if let Err(err) = self.cache.replace(orders).await {
            tracing::debug!(error = %err.chain(), "cache update skipped; waiting for the other processes to learn of the change");
            self.cache.settle().await;
        }
    }
}

fn rendered(
    page: Page<Order>,
    render: impl FnOnce(Vec<Order>) -> Result<Bytes, DomainError>,
) -> Result<RenderedPage, DomainError> {
    Ok(RenderedPage {
        body: render(page.items)?,
        next_before: page.next_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockOrderCache, MockOrderRepository};
    use crate::services::fixtures::{
        admin, customer, oid, order, order_service as service, quiet_cache, uid, StatusLine, STEP,
        T0,
    };
    use crate::{Actor, ListGeneration};
    use OrderStatus::*;

    fn id(n: i64) -> OrderId {
        oid(n)
    }

    fn repo_with(stored: Order) -> MockOrderRepository {
        let mut repo = MockOrderRepository::new();
        repo.expect_find_by_id()
            .returning(move |_| Ok(Some(stored.clone())));
        repo
    }

    #[tokio::test]
    async fn a_new_order_is_created_for_the_caller_and_due_one_step_later() {
        let mut repo = MockOrderRepository::new();
        repo.expect_insert()
            .withf(|n| {
                n.customer_id == uid(7)
                    && n.status == Created
                    && n.version == 1
                    && n.created_at == T0
                    && n.next_step_at == Some(T0 + STEP)
                    && n.actor == Actor::Customer(uid(7))
            })
            .returning(|_| Ok(order(1, 7, Created, 1)));
        let mut cache = MockOrderCache::new();
        cache.expect_replace().times(1).returning(|_| Ok(()));
        let created = service(repo, cache)
            .create(customer(7), laptop("Laptop"))
            .await
            .unwrap();
        assert_eq!((created.customer_id, created.status), (uid(7), Created));
    }

    fn laptop(item: &str) -> OrderRequest {
        OrderRequest::free_text(crate::ItemDescription::parse(item).unwrap())
    }

    #[tokio::test]
    async fn a_server_that_sells_only_its_catalog_refuses_free_text_and_stores_nothing() {
        let repo = MockOrderRepository::new();
        let refused = service(repo, quiet_cache())
            .with_free_text_orders(false)
            .create(customer(7), laptop("Laptop"))
            .await;
        let Err(DomainError::Validation(message)) = refused else {
            panic!("expected a refusal, got {refused:?}");
        };
        assert!(message.starts_with("lines are required"), "{message}");
    }

    fn key(raw: &str) -> IdempotencyKey {
        IdempotencyKey::parse(raw).unwrap()
    }

    /// A store where every key was first used by a request with this fingerprint, which
    /// created order 1.
    fn key_taken_by(fingerprint: RequestFingerprint) -> MockOrderRepository {
        let mut repo = MockOrderRepository::new();
        repo.expect_insert_keyed().returning(move |_, _| {
            Ok(KeyedInsert::Taken {
                fingerprint,
                kept: order(1, 7, Created, 1),
            })
        });
        repo
    }

    #[tokio::test]
    async fn a_keyed_creation_stores_the_key_for_24_hours_with_the_order() {
        let mut repo = MockOrderRepository::new();
        repo.expect_insert_keyed()
            .withf(|n, claim| {
                n.customer_id == uid(7)
                    && claim.key.as_str() == "k-1"
                    && claim.fingerprint == RequestFingerprint([1; 32])
                    && claim.expires_at == T0 + chrono::Duration::hours(24)
            })
            .times(1)
            .returning(|_, _| Ok(KeyedInsert::Inserted(order(1, 7, Created, 1))));
        let created = service(repo, quiet_cache())
            .create_once(
                customer(7),
                laptop("Laptop"),
                key("k-1"),
                RequestFingerprint([1; 32]),
            )
            .await
            .unwrap();
        assert!(matches!(created, Creation::Created(o) if o.id == oid(1)));
    }

    #[tokio::test]
    async fn a_customer_at_the_open_orders_bound_places_nothing_more() {
        let mut repo = MockOrderRepository::new();
        repo.expect_count_open()
            .withf(|customer, up_to| *customer == uid(7) && *up_to == 3)
            .returning(|_, _| Ok(3));
        repo.expect_insert().never();
        let err = service(repo, quiet_cache())
            .with_open_orders_limit(Some(3))
            .create(customer(7), laptop("Laptop"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::TooManyOpenOrders { limit: 3 }),
            "{err:?}"
        );

        let mut repo = MockOrderRepository::new();
        repo.expect_count_open().returning(|_, _| Ok(2));
        repo.expect_insert()
            .times(1)
            .returning(|_| Ok(order(1, 7, Created, 1)));
        service(repo, quiet_cache())
            .with_open_orders_limit(Some(3))
            .create(customer(7), laptop("Laptop"))
            .await
            .expect("below the bound");
    }

    #[tokio::test]
    async fn at_the_bound_a_repeat_still_gets_its_answer_and_a_new_key_is_refused() {
        let mut repo = MockOrderRepository::new();
        repo.expect_count_open().returning(|_, _| Ok(5));
        repo.expect_insert_keyed().never();
        repo.expect_find_claim().returning(|_, key, _| {
            Ok((key.as_str() == "k-1").then(|| KeyedInsert::Taken {
                fingerprint: RequestFingerprint([1; 32]),
                kept: order(1, 7, Created, 1),
            }))
        });
        let svc = service(repo, quiet_cache()).with_open_orders_limit(Some(5));
        let replayed = svc
            .create_once(
                customer(7),
                laptop("Laptop"),
                key("k-1"),
                RequestFingerprint([1; 32]),
            )
            .await
            .unwrap();
        assert_eq!(replayed, Creation::Replayed(order(1, 7, Created, 1)));
        let refused = svc
            .create_once(
                customer(7),
                laptop("Laptop"),
                key("k-2"),
                RequestFingerprint([2; 32]),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(refused, DomainError::TooManyOpenOrders { .. }),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_repeat_of_the_same_request_replays_the_kept_order() {
        let repo = key_taken_by(RequestFingerprint([1; 32]));
        let mut cache = MockOrderCache::new();
        cache.expect_replace().never();
        let replayed = service(repo, cache)
            .create_once(
                customer(7),
                laptop("Laptop"),
                key("k-1"),
                RequestFingerprint([1; 32]),
            )
            .await
            .unwrap();
        assert_eq!(replayed, Creation::Replayed(order(1, 7, Created, 1)));
    }

    #[tokio::test]
    async fn a_key_reused_for_another_request_is_refused() {
        let repo = key_taken_by(RequestFingerprint([1; 32]));
        let outcome = service(repo, quiet_cache())
            .create_once(
                customer(7),
                laptop("Phone"),
                key("k-1"),
                RequestFingerprint([2; 32]),
            )
            .await;
        assert!(matches!(outcome, Err(DomainError::KeyReused)));
    }

    #[tokio::test]
    async fn the_owner_and_admins_see_an_order_others_get_not_found() {
        let svc = service(repo_with(order(1, 7, Created, 1)), quiet_cache());
        assert!(svc.get(customer(7), id(1)).await.is_ok());
        assert!(svc.get(admin(99), id(1)).await.is_ok());
        assert!(matches!(
            svc.get(customer(8), id(1)).await,
            Err(DomainError::NotFound("order"))
        ));
    }

    #[tokio::test]
    async fn a_missing_order_is_not_found() {
        let mut repo = MockOrderRepository::new();
        repo.expect_find_by_id().returning(|_| Ok(None));
        let err = service(repo, quiet_cache())
            .get(admin(1), id(5))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotFound("order")), "{err:?}");
    }

    #[tokio::test]
    async fn a_cache_hit_skips_the_database_but_not_the_ownership_check() {
        let mut cache = MockOrderCache::new();
        cache
            .expect_get()
            .returning(|_| Ok(Some(StatusLine.rendered(&order(1, 7, Dispatched, 2)))));
        let svc = service(MockOrderRepository::new(), cache);
        assert_eq!(
            svc.get(customer(7), id(1)).await.unwrap().body,
            "order 1 dispatched"
        );
        assert!(matches!(
            svc.get(customer(8), id(1)).await,
            Err(DomainError::NotFound("order"))
        ));
    }

    #[tokio::test]
    async fn a_failing_cache_is_treated_as_a_miss() {
        let mut cache = MockOrderCache::new();
        cache
            .expect_get()
            .returning(|_| Err(DomainError::unavailable("redis down")));
        cache
            .expect_put()
            .returning(|_| Err(DomainError::unavailable("redis down")));
        let svc = service(repo_with(order(1, 7, Created, 1)), cache);
        assert_eq!(
            svc.get(customer(7), id(1)).await.unwrap(),
            StatusLine.rendered(&order(1, 7, Created, 1)),
            "rendered as the cache would have kept it"
        );
    }

    fn page_of(size: usize, before: Option<i64>) -> PageRequest {
        PageRequest {
            size: crate::PageSize::new(size).expect("valid size"),
            before,
        }
    }

    #[tokio::test]
    async fn only_admins_list_every_order() {
        let mut repo = MockOrderRepository::new();
        repo.expect_list()
            .withf(|f, before, limit| f.customer_id.is_none() && before.is_none() && *limit == 101)
            .times(1)
            .returning(|_, _, _| Ok(vec![order(2, 8, Created, 1), order(1, 7, Created, 1)]));
        let svc = service(repo, quiet_cache());
        assert!(matches!(
            svc.list_all(customer(7), OrderFilter::default(), page_of(100, None))
                .await,
            Err(DomainError::Forbidden)
        ));
        let page = svc
            .list_all(admin(1), OrderFilter::default(), page_of(100, None))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_before, None);
    }

    #[tokio::test]
    async fn list_mine_asks_only_for_the_callers_orders_whatever_the_filter_says() {
        let mut repo = MockOrderRepository::new();
        repo.expect_list()
            .withf(|f, before, limit| {
                f.customer_id == Some(uid(7))
                    && f.statuses == [Created]
                    && *before == Some(50)
                    && *limit == 3
            })
            .returning(|_, _, _| {
                Ok(vec![
                    order(9, 7, Created, 1),
                    order(8, 7, Created, 1),
                    order(4, 7, Created, 1),
                ])
            });
        let filter = OrderFilter {
            statuses: vec![Created],
            customer_id: Some(uid(8)),
            ..OrderFilter::default()
        };
        let mut cache = MockOrderCache::new();
        cache.expect_first_page().never();
        let page = service(repo, cache)
            .list_mine(customer(7), filter, page_of(2, Some(50)), ids)
            .await
            .unwrap();
        assert_eq!(page.body, "9,8");
        assert_eq!(page.next_before, Some(8));
    }

    /// Renders a page as its ids, comma-separated.
    fn ids(orders: Vec<Order>) -> Result<Bytes, DomainError> {
        let ids: Vec<String> = orders.iter().map(|o| o.id.get().to_string()).collect();
        Ok(Bytes::from(ids.join(",")))
    }

    fn first_two_of(customer: i64) -> MockOrderRepository {
        let mut repo = MockOrderRepository::new();
        repo.expect_list()
            .withf(move |f, before, limit| {
                f.is_all_orders_of(uid(customer)) && before.is_none() && *limit == 3
            })
            .times(1)
            .returning(move |_, _, _| {
                Ok(vec![
                    order(9, customer, Created, 1),
                    order(8, customer, Created, 1),
                    order(4, customer, Created, 1),
                ])
            });
        repo
    }

    #[tokio::test]
    async fn a_cached_first_page_is_served_without_the_database() {
        let mut cache = MockOrderCache::new();
        cache
            .expect_first_page()
            .withf(|c, size| *c == uid(7) && size.get() == 2)
            .returning(|_, _| {
                Ok(CachedPage::Hit(RenderedPage {
                    body: Bytes::from_static(b"cached"),
                    next_before: Some(8),
                }))
            });
        cache.expect_put_first_page().never();
        let page = service(MockOrderRepository::new(), cache)
            .list_mine(customer(7), OrderFilter::default(), page_of(2, None), ids)
            .await
            .unwrap();
        assert_eq!(page.body, "cached");
        assert_eq!(page.next_before, Some(8));
    }

    #[tokio::test]
    async fn a_missed_first_page_is_loaded_and_kept_under_the_generation_read_before() {
        let mut cache = MockOrderCache::new();
        cache
            .expect_first_page()
            .returning(|_, _| Ok(CachedPage::Miss(ListGeneration(41))));
        cache
            .expect_put_first_page()
            .withf(|c, size, generation, page| {
                *c == uid(7)
                    && size.get() == 2
                    && *generation == ListGeneration(41)
                    && page.body == "9,8"
                    && page.next_before == Some(8)
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let page = service(first_two_of(7), cache)
            .list_mine(customer(7), OrderFilter::default(), page_of(2, None), ids)
            .await
            .unwrap();
        assert_eq!(page.body, "9,8");
    }

    #[tokio::test]
    async fn a_bypassed_or_failing_list_cache_is_read_past_and_not_filled() {
        let answers: [fn() -> Result<CachedPage, DomainError>; 2] = [
            || Ok(CachedPage::Bypass),
            || Err(DomainError::unavailable("redis down")),
        ];
        for answer in answers {
            let mut cache = MockOrderCache::new();
            cache.expect_first_page().returning(move |_, _| answer());
            cache.expect_put_first_page().never();
            let page = service(first_two_of(7), cache)
                .list_mine(customer(7), OrderFilter::default(), page_of(2, None), ids)
                .await
                .unwrap();
            assert_eq!(page.body, "9,8");
        }
    }

    #[tokio::test]
    async fn filtered_lists_and_later_pages_are_never_cached() {
        let filtered = OrderFilter {
            statuses: vec![Created],
            ..OrderFilter::default()
        };
        for (filter, before) in [(filtered, None), (OrderFilter::default(), Some(50))] {
            let mut repo = MockOrderRepository::new();
            repo.expect_list().times(1).returning(|_, _, _| Ok(vec![]));
            let mut cache = MockOrderCache::new();
            cache.expect_first_page().never();
            cache.expect_put_first_page().never();
            let page = service(repo, cache)
                .list_mine(customer(7), filter, page_of(2, before), ids)
                .await
                .unwrap();
            assert_eq!((page.body.as_ref(), page.next_before), (&b""[..], None));
        }
    }

    #[tokio::test]
    async fn the_owner_cancels_with_a_compare_and_set_that_stops_progression() {
        let mut repo = repo_with(order(1, 7, InTransit, 3));
        repo.expect_transition()
            .withf(|c| {
                c.expected_version == 3
                    && c.from == InTransit
                    && c.to == Cancelled
                    && c.actor == Actor::Customer(uid(7))
                    && c.next_step_at.is_none()
            })
            .returning(|_| Ok(Some(order(1, 7, Cancelled, 4))));
        let cancelled = service(repo, quiet_cache())
            .cancel(customer(7), id(1))
            .await
            .unwrap();
        assert_eq!(cancelled.status, Cancelled);
    }

    #[tokio::test]
    async fn terminal_orders_cannot_be_cancelled() {
        for status in [Delivered, Cancelled] {
            let svc = service(repo_with(order(1, 7, status, 4)), quiet_cache());
            let outcome = svc.cancel(customer(7), id(1)).await;
            assert!(
                matches!(outcome, Err(DomainError::InvalidTransition { from, to: Cancelled }) if from == status),
                "{outcome:?}"
            );
        }
    }

    #[tokio::test]
    async fn another_customers_cancel_is_not_found_and_an_admins_is_forbidden() {
        let svc = service(repo_with(order(1, 7, Created, 1)), quiet_cache());
        assert!(matches!(
            svc.cancel(customer(8), id(1)).await,
            Err(DomainError::NotFound("order"))
        ));
        assert!(matches!(
            svc.cancel(admin(1), id(1)).await,
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn a_cancel_that_loses_to_delivery_is_rejected() {
        let mut repo = MockOrderRepository::new();
        let mut reads = vec![order(1, 7, Delivered, 4), order(1, 7, InTransit, 3)];
        repo.expect_find_by_id().returning(move |_| Ok(reads.pop()));
        repo.expect_transition().times(1).returning(|_| Ok(None));
        let err = service(repo, quiet_cache())
            .cancel(customer(7), id(1))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                DomainError::InvalidTransition {
                    from: Delivered,
                    to: Cancelled
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_cancel_that_loses_to_a_step_retries_on_the_new_version() {
        let mut repo = MockOrderRepository::new();
        let mut reads = vec![order(1, 7, Dispatched, 2), order(1, 7, Created, 1)];
        repo.expect_find_by_id().returning(move |_| Ok(reads.pop()));
        repo.expect_transition()
            .withf(|c| c.expected_version == 1)
            .returning(|_| Ok(None));
        repo.expect_transition()
            .withf(|c| c.expected_version == 2 && c.from == Dispatched)
            .returning(|_| Ok(Some(order(1, 7, Cancelled, 3))));
        let out = service(repo, quiet_cache())
            .cancel(customer(7), id(1))
            .await
            .unwrap();
        assert_eq!(out.status, Cancelled);
    }

    fn note_edit() -> OrderEdit {
        let note = crate::OrderNote::parse("Fragile").unwrap();
        OrderEdit::new(None, None, Some(note)).unwrap()
    }

    #[tokio::test]
    async fn an_edit_that_loses_to_an_edit_retries_on_the_new_version() {
        let mut repo = MockOrderRepository::new();
        let mut reads = vec![order(1, 7, Created, 2), order(1, 7, Created, 1)];
        repo.expect_find_by_id().returning(move |_| Ok(reads.pop()));
        repo.expect_edit()
            .withf(|e| e.expected_version == 1)
            .times(1)
            .returning(|_| Ok(None));
        repo.expect_edit()
            .withf(|e| e.expected_version == 2 && e.new_version == 3)
            .times(1)
            .returning(|_| Ok(Some(order(1, 7, Created, 3))));
        let out = service(repo, quiet_cache())
            .edit(customer(7), id(1), note_edit())
            .await
            .unwrap();
        assert_eq!(out.version, 3);
    }

    #[tokio::test]
    async fn an_edit_that_loses_to_the_lifecycle_is_refused_and_writes_nothing() {
        let mut repo = MockOrderRepository::new();
        let mut reads = vec![order(1, 7, Dispatched, 2), order(1, 7, Created, 1)];
        repo.expect_find_by_id().returning(move |_| Ok(reads.pop()));
        repo.expect_edit().times(1).returning(|_| Ok(None));
        let err = service(repo, quiet_cache())
            .edit(customer(7), id(1), note_edit())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DomainError::Conflict("order can no longer be changed")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn another_customers_edit_learns_nothing_and_reaches_no_store() {
        let mut repo = repo_with(order(1, 7, Created, 1));
        repo.expect_edit().never();
        let err = service(repo, quiet_cache())
            .edit(customer(8), id(1), note_edit())
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotFound("order")), "{err:?}");
    }

    #[tokio::test]
    async fn customers_cannot_override_a_status() {
        let svc = service(MockOrderRepository::new(), quiet_cache());
        assert!(matches!(
            svc.set_status(customer(7), id(1), Delivered).await,
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn setting_the_current_status_is_a_no_op() {
        let mut repo = repo_with(order(1, 7, Dispatched, 2));
        repo.expect_transition().never();
        let out = service(repo, quiet_cache())
            .set_status(admin(1), id(1), Dispatched)
            .await
            .unwrap();
        assert_eq!(out.version, 2);
    }

    #[tokio::test]
    async fn a_non_terminal_override_restarts_the_step_and_a_terminal_one_stops_it() {
        let mut repo = repo_with(order(1, 7, InTransit, 3));
        repo.expect_transition()
            .withf(|c| {
                c.to == Created
                    && c.next_step_at == Some(T0 + STEP)
                    && c.actor == Actor::Admin(uid(1))
            })
            .returning(|_| Ok(Some(order(1, 7, Created, 4))));
        repo.expect_transition()
            .withf(|c| c.to == Delivered && c.next_step_at.is_none())
            .returning(|_| Ok(Some(order(1, 7, Delivered, 4))));
        let svc = service(repo, quiet_cache());
        assert_eq!(
            svc.set_status(admin(1), id(1), Created)
                .await
                .unwrap()
                .status,
            Created
        );
        assert_eq!(
            svc.set_status(admin(1), id(1), Delivered)
                .await
                .unwrap()
                .status,
            Delivered
        );
    }

    #[tokio::test]
    async fn an_admin_may_revive_a_terminal_order() {
        let mut repo = repo_with(order(1, 7, Cancelled, 2));
        repo.expect_transition()
            .withf(|c| c.from == Cancelled && c.to == InTransit && c.next_step_at.is_some())
            .returning(|_| Ok(Some(order(1, 7, InTransit, 3))));
        let out = service(repo, quiet_cache())
            .set_status(admin(1), id(1), InTransit)
            .await
            .unwrap();
        assert_eq!(out.status, InTransit);
    }

    #[tokio::test]
    async fn every_successful_change_replaces_the_cached_order() {
        let mut repo = repo_with(order(1, 7, Created, 1));
        repo.expect_transition()
            .returning(|_| Ok(Some(order(1, 7, Cancelled, 2))));
        let mut cache = MockOrderCache::new();
        cache
            .expect_replace()
            .withf(|orders| orders.len() == 1 && orders[0].version == 2)
            .times(1)
            .returning(|_| Ok(()));
        service(repo, cache)
            .cancel(customer(7), id(1))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_change_the_cache_missed_is_answered_only_once_the_cache_has_settled() {
        let mut repo = repo_with(order(1, 7, Created, 1));
        repo.expect_transition()
            .returning(|_| Ok(Some(order(1, 7, Cancelled, 2))));
        let mut cache = MockOrderCache::new();
        let mut sequence = mockall::Sequence::new();
        cache
            .expect_replace()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Err(DomainError::unavailable(std::io::Error::other("partition"))));
        cache
            .expect_settle()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|| ());
        let cancelled = service(repo, cache)
            .cancel(customer(7), id(1))
            .await
            .unwrap();
        assert_eq!(cancelled.status, Cancelled);
    }

    #[tokio::test]
    async fn endless_contention_gives_up_with_a_conflict() {
        let mut repo = repo_with(order(1, 7, Created, 1));
        repo.expect_transition().returning(|_| Ok(None));
        let err = service(repo, quiet_cache())
            .cancel(customer(7), id(1))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Contended), "{err:?}");
    }
}
