//! The Redis cache in the running service: never stale after an acknowledged write, and
//! optional when Redis is down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{oneshot, Mutex};
use trachios_domain::ports::{OrderRepository, SystemClock};
use trachios_domain::services::OrderService;
use trachios_domain::{
    AdvancedOrder, Caller, DomainError, DueSteps, KeyClaim, KeyedInsert, NewOrder, Order,
    OrderEvent, OrderFilter, OrderId, OrderStatus, PageRequest, RenderedOrder, Role, StatusChange,
    UserId,
};
use trachios_http::OrderJson;
use trachios_postgres::{build_pool, migrate, PgOrderRepository, PoolSettings};
use trachios_redis::{CacheSettings, RedisOrderCache};

use trachios_test_support::PrivateRedis;

use crate::helpers::*;

fn unique_prefix() -> String {
    format!("e2e-{}:", uuid::Uuid::new_v4().simple())
}

async fn spawn_cached_app(redis_url: &str, key_prefix: &str) -> TestApp {
    spawn_configured(3600.0, |settings| {
        settings.cache.enabled = true;
        settings.cache.redis_url = Some(redis_url.into());
        settings.cache.key_prefix = key_prefix.to_owned();
    })
    .await
}

/// A counter from `INFO stats` of a private Redis.
async fn redis_stat(redis: &PrivateRedis, name: &str) -> u64 {
    let info = redis.cli(&["INFO", "stats"]).await;
    info.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("INFO stats has no {name}: {info}"))
}

/// An order repository that, when armed, stalls the next `find_by_id` or `list` after it
/// has read the rows, until the test lets it go: the reader's half of the stale-set race.
struct StallingOrders {
    inner: PgOrderRepository,
    armed: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

impl StallingOrders {
    async fn stall_if_armed(&self) {
        let armed = self.armed.lock().await.take();
        if let Some((loaded, release)) = armed {
            loaded.send(()).expect("the test waits for the load");
            release.await.expect("the test releases the reader");
        }
    }
}

#[async_trait]
impl OrderRepository for StallingOrders {
    async fn insert(&self, order: NewOrder) -> Result<Order, DomainError> {
        self.inner.insert(order).await
    }
    async fn count_open(&self, customer: UserId, up_to: u32) -> Result<u32, DomainError> {
        self.inner.count_open(customer, up_to).await
    }
    async fn find_claim(
        &self,
        customer: UserId,
        key: &trachios_domain::IdempotencyKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<KeyedInsert>, DomainError> {
        self.inner.find_claim(customer, key, now).await
    }
    async fn find_by_id(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        let found = self.inner.find_by_id(id).await?;
        self.stall_if_armed().await;
        Ok(found)
    }
    async fn list(
        &self,
        filter: &OrderFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Order>, DomainError> {
        let found = self.inner.list(filter, before, limit).await?;
        self.stall_if_armed().await;
        Ok(found)
    }
    async fn transition(&self, change: StatusChange) -> Result<Option<Order>, DomainError> {
        self.inner.transition(change).await
    }
    async fn edit(&self, edit: trachios_domain::PendingEdit) -> Result<Option<Order>, DomainError> {
        self.inner.edit(edit).await
    }
    async fn advance_due(
        &self,
        due: &DueSteps,
        limit: i64,
    ) -> Result<Vec<AdvancedOrder>, DomainError> {
        self.inner.advance_due(due, limit).await
    }
    async fn history(&self, id: OrderId) -> Result<Vec<OrderEvent>, DomainError> {
        self.inner.history(id).await
    }
    async fn insert_keyed(
        &self,
        order: NewOrder,
        claim: KeyClaim,
    ) -> Result<KeyedInsert, DomainError> {
        self.inner.insert_keyed(order, claim).await
    }
    async fn purge_expired_keys(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<u64, DomainError> {
        self.inner.purge_expired_keys(now, limit).await
    }
    async fn claim_bulk_key(
        &self,
        user: UserId,
        claim: &trachios_domain::BulkClaim,
    ) -> Result<trachios_domain::BulkKeyClaim, DomainError> {
        self.inner.claim_bulk_key(user, claim).await
    }
    async fn keep_bulk_answer(
        &self,
        user: UserId,
        claim: &trachios_domain::BulkClaim,
        response: &str,
    ) -> Result<(), DomainError> {
        self.inner.keep_bulk_answer(user, claim, response).await
    }
    async fn release_bulk_key(
        &self,
        user: UserId,
        claim: &trachios_domain::BulkClaim,
    ) -> Result<(), DomainError> {
        self.inner.release_bulk_key(user, claim).await
    }
}

/// A server with one customer and their order, beside an `OrderService` of its own over the
/// same database, a stalling repository and a Redis cache: the stage for forcing the
/// stale-set interleaving. `None` on the embedded store.
struct RaceStage {
    _app: TestApp,
    customer_id: i64,
    id: i64,
    orders: Arc<StallingOrders>,
    cache: Arc<RedisOrderCache>,
    service: OrderService,
}

async fn race_stage() -> Option<RaceStage> {
    if !runs_on_this_store("reads through PostgreSQL's repository beside a running server") {
        return None;
    }
    let database_url = fresh_database().await;
    migrate(&database_url).await.unwrap();
    let pool = build_pool(&database_url, &PoolSettings::default()).unwrap();
    let app = spawn_on(&database_url, 3600.0).await;
    let (token, customer_id) = app.customer("jo@x.io").await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();

    let orders = Arc::new(StallingOrders {
        inner: PgOrderRepository::new(pool),
        armed: Mutex::new(None),
    });
    let cache = Arc::new(
        RedisOrderCache::new(
            &shared_redis_url(),
            CacheSettings {
                key_prefix: unique_prefix(),
                ..CacheSettings::default()
            },
            Arc::new(OrderJson),
        )
        .unwrap(),
    );
    let service = OrderService::new(
        orders.clone(),
        cache.clone(),
        Arc::new(OrderJson),
        Arc::new(SystemClock),
        chrono::Duration::hours(1),
    );
    Some(RaceStage {
        _app: app,
        customer_id,
        id,
        orders,
        cache,
        service,
    })
}

#[tokio::test]
async fn a_reader_that_loaded_an_old_row_cannot_overwrite_a_newer_write() {
    let Some(RaceStage {
        id,
        orders,
        cache,
        service,
        ..
    }) = race_stage().await
    else {
        return;
    };
    let admin = Caller {
        user_id: UserId::parse(1).unwrap(),
        role: Role::Admin,
    };
    let order_id = OrderId::parse(id).unwrap();

    // 1. A reader misses the cache and loads version 1, then stalls before filling the cache.
    let (loaded_tx, loaded_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    *orders.armed.lock().await = Some((loaded_tx, release_rx));
    let reader = {
        let service = service.clone();
        tokio::spawn(async move { service.get(admin, order_id).await })
    };
    loaded_rx.await.unwrap();
    // 2. A writer changes the order and is acknowledged.
    let written = service
        .set_status(admin, order_id, OrderStatus::Cancelled)
        .await
        .unwrap();
    assert_eq!(written.status, OrderStatus::Cancelled);
    // 3. The reader resumes and fills the cache with what it loaded.
    release_tx.send(()).unwrap();
    let stale_read = reader.await.unwrap().unwrap();
    assert_eq!(
        status_of(&stale_read),
        "created",
        "the reader really did load the old row"
    );
    // 4. Every later read shows the acknowledged write.
    for _ in 0..3 {
        assert_eq!(
            status_of(&service.get(admin, order_id).await.unwrap()),
            "cancelled"
        );
    }
    assert!(
        cache.stats().counts().hits >= 3,
        "the later reads came from the cache"
    );
}

/// The status in an order as the API renders it.
fn status_of(order: &RenderedOrder) -> String {
    let body: Value = serde_json::from_slice(&order.body).expect("the API's JSON");
    body["status"].as_str().expect("a status").to_owned()
}

/// Renders a page as its orders' statuses, comma-separated.
fn statuses(orders: Vec<Order>) -> Result<bytes::Bytes, DomainError> {
    let statuses: Vec<&str> = orders.iter().map(|o| o.status.as_str()).collect();
    Ok(bytes::Bytes::from(statuses.join(",")))
}

#[tokio::test]
async fn a_reader_that_loaded_an_old_page_cannot_serve_it_after_a_newer_write() {
    let Some(RaceStage {
        customer_id,
        id,
        orders,
        cache,
        service,
        ..
    }) = race_stage().await
    else {
        return;
    };
    let customer = Caller {
        user_id: UserId::parse(customer_id).unwrap(),
        role: Role::Customer,
    };
    let first_page = PageRequest::default();

    // 1. A reader misses the list cache and loads the page, then stalls before filling it.
    let (loaded_tx, loaded_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    *orders.armed.lock().await = Some((loaded_tx, release_rx));
    let reader = {
        let service = service.clone();
        tokio::spawn(async move {
            service
                .list_mine(customer, OrderFilter::default(), first_page, statuses)
                .await
        })
    };
    loaded_rx.await.unwrap();
    // 2. The owner cancels the order and is acknowledged.
    let cancelled = service
        .cancel(customer, OrderId::parse(id).unwrap())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    // 3. The reader resumes and stores the page it loaded.
    release_tx.send(()).unwrap();
    let stale_read = reader.await.unwrap().unwrap();
    assert_eq!(
        stale_read.body, "created",
        "the reader really did load the old page"
    );
    // 4. Every later read shows the acknowledged write, the later ones from the cache.
    let hits_before = cache.stats().counts().hits;
    for _ in 0..3 {
        let page = service
            .list_mine(customer, OrderFilter::default(), first_page, statuses)
            .await
            .unwrap();
        assert_eq!(page.body, "cancelled");
    }
    assert_eq!(
        cache.stats().counts().hits - hits_before,
        2,
        "one read refilled the cache, the next two came from it"
    );
}

#[tokio::test]
async fn after_each_acknowledged_change_the_next_read_shows_it_while_readers_hammer() {
    let redis = PrivateRedis::start().await;
    let app = spawn_cached_app(&redis.url(), &unique_prefix()).await;
    walk_statuses_while_readers_hammer(&app, |id| format!("/orders/{id}"), |body, _| body).await;
    assert!(
        redis_stat(&redis, "keyspace_hits").await > 100,
        "the reads were served by the cache, so a stale entry would have been seen"
    );
}

/// Three rounds of: a new order walks through five statuses set by an admin, while 16
/// readers hammer `path(id)` and check, with `order_in(body, id)` picking the order out of
/// what they read, that no read is older than the last acknowledged change, and that the
/// read right after each change shows it.
pub(crate) async fn walk_statuses_while_readers_hammer(
    app: &TestApp,
    path: fn(i64) -> String,
    order_in: fn(Value, i64) -> Value,
) {
    let (token, _) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    let sequence = [
        "dispatched",
        "in_transit",
        "delivered",
        "cancelled",
        "created",
    ];
    for round in 0..3 {
        let id = app.create_order(&token, &format!("round {round}")).await["id"]
            .as_i64()
            .unwrap();
        let acknowledged = Arc::new(AtomicUsize::new(0)); // how many of `sequence` are acknowledged
        let stop = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..16)
            .map(|_| {
                let (client, url, token) = (
                    app.client.clone(),
                    format!("{}{}", app.base, path(id)),
                    token.clone(),
                );
                let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut reads = 0;
                    while stop.load(Ordering::SeqCst) == 0 {
                        let floor = acknowledged.load(Ordering::SeqCst);
                        let body: Value = client
                            .get(&url)
                            .bearer_auth(&token)
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        let status = order_in(body, id)["status"].as_str().unwrap().to_owned();
                        // "created" is both the start and the last change of the sequence.
                        let seen = match sequence.iter().position(|s| *s == status) {
                            Some(last) if last == sequence.len() - 1 && floor < last => 0,
                            Some(position) => position + 1,
                            None => panic!("unexpected status {status}"),
                        };
                        assert!(
                            seen >= floor,
                            "read {status} after change {floor} was acknowledged"
                        );
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        for (n, status) in sequence.iter().enumerate() {
            app.set_status(&admin, id, status).await;
            acknowledged.store(n + 1, Ordering::SeqCst);
            let (_, now) = app.call(Method::GET, &path(id), Some(&token), None).await;
            assert_eq!(
                order_in(now, id)["status"],
                *status,
                "the read right after the change shows it"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(1, Ordering::SeqCst);
        let mut total = 0;
        for reader in readers {
            total += reader.await.expect("no reader saw a stale status");
        }
        assert!(total > 16, "the readers really hammered ({total} reads)");
    }
}

#[tokio::test]
async fn with_redis_down_every_endpoint_still_answers_and_the_cache_comes_back() {
    let mut redis = PrivateRedis::start().await;
    let prefix = "x_";
    let app = spawn_cached_app(&redis.url(), prefix).await;
    let (token, _) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(app.order(&token, id).await.1["status"], "created");
    assert_eq!(
        redis.cli(&["--scan", "--pattern", "x_order:*"]).await,
        format!("x_order:{id}"),
        "CACHE_KEY_PREFIX is put before every key"
    );

    redis.stop().await;
    for _ in 0..20 {
        assert_eq!(app.order(&token, id).await.0, StatusCode::OK);
    }
    let (code, body) = app
        .call(
            Method::PUT,
            &format!("/orders/{id}/status"),
            Some(&admin),
            Some(json!({"status": "in_transit"})),
        )
        .await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("in_transit"))
    );
    assert_eq!(app.order(&token, id).await.1["status"], "in_transit");
    let second = app.create_order(&token, "Chair").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/orders/{second}/cancel"),
            Some(&token),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, "/my-orders", Some(&token), None)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.call(Method::GET, "/orders", Some(&admin), None).await.0,
        StatusCode::OK
    );

    redis.restart().await;
    let cached_again = eventually(Duration::from_secs(10), || async {
        app.order(&token, id).await;
        !redis
            .cli(&["--scan", "--pattern", "x_order:*"])
            .await
            .is_empty()
    })
    .await;
    assert!(cached_again, "orders are cached again once Redis is back");
    assert_eq!(app.order(&token, id).await.1["status"], "in_transit");
}
