use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_redis::{Connection, Manager, Pool, Runtime};
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, Script};
use trachios_domain::ports::{ChangeWitness, DependencyProbe, OrderCache, OrderRenderer};
use trachios_domain::{
    CachedPage, CommittedVersion, DomainError, ListGeneration, Order, OrderId, PageSize,
    RenderedOrder, RenderedPage, UserId,
};

use crate::entry::{decode, encode, PUT_IF_NEWER};
use crate::fence::Fence;
use crate::page_entry;
use crate::thread_slots::ThreadSlots;
use crate::{CacheStats, CircuitBreaker};

/// How the cache behaves.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// How long an entry lives (5 minutes by the contract).
    pub ttl: Duration,
    /// The most any round trip to Redis may take, and connecting; an operation makes one
    /// (a few only when Redis lost its scripts or a customer's list generation).
    pub timeout: Duration,
    /// How long Redis is left alone after a failure before one probe is tried.
    pub cooldown: Duration,
    pub pool_size: usize,
    /// Put before every key (`{prefix}order:{id}`), for sharing one Redis; empty by default.
    pub key_prefix: String,
    /// The database's identity (`cache_epoch`): entries of another epoch are misses.
    pub epoch: String,
    /// `Some` when other processes write to the same database: the cache is then trusted
    /// only while this process has read the change feed to its end within this long, and a
    /// write whose cache update failed waits this long before it is acknowledged.
    pub feed_lease: Option<Duration>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            timeout: Duration::from_millis(50),
            cooldown: Duration::from_secs(1),
            pool_size: 16,
            key_prefix: String::new(),
            epoch: String::new(),
            feed_lease: None,
        }
    }
}

/// The order cache in Redis: `order:{id}` → see `entry`; and each
/// customer's first page, `orders-page:{epoch}:{customer}` → see `page_entry`, valid while
/// `orders-gen:{epoch}:{customer}` still holds the generation it was stored under.
///
/// Entries are only ever replaced by a newer version (a Lua compare-and-set), which closes
/// the cache-aside race: a reader that loaded an old row before a write cannot put it back
/// over the write's newer entry. Every write also stores a fresh generation for the
/// customer (in the same pipeline). A change that did not reach Redis — this process's
/// write during an outage or a partition, another process's, one whose writer crashed
/// before updating Redis — raises the order's floor in the `Fence` (at once for this
/// process's own writes, through the change feed for every process), and an entry below
/// its floor is a miss; the customer's generation is renewed before their next cached page.
pub struct RedisOrderCache {
    pool: Pool,
    /// Multiplexed connections (each pipelines its requests' commands), one per thread that
    /// uses the cache: a connection's I/O runs as a task on the runtime of the thread that
    /// opened it, so a request served by another of the server's worker threads paid two
    /// cross-thread wake-ups per command. The pool only creates them, within the timeouts;
    /// checking a connection out per command would cost an extra PING round trip each time.
    connections: ThreadSlots<MultiplexedConnection>,
    settings: CacheSettings,
    renderer: Arc<dyn OrderRenderer>,
    script: Script,
    breaker: CircuitBreaker,
    stats: Arc<CacheStats>,
    fence: Fence,
    /// Generations are this process's random start plus a count, so that no two writes,
    /// in this process or any other, store the same one.
    generation_start: u64,
    generations_made: AtomicU64,
}

/// Why the cache could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CacheSetupError {
    #[error(transparent)]
    Endpoint(#[from] crate::endpoint::RedisEndpointError),
    #[error("invalid Redis configuration")]
    Client(#[from] redis::RedisError),
    #[error("cannot build the Redis pool")]
    Pool(#[from] deadpool_redis::BuildError),
}

/// Why a Redis operation did not happen.
#[derive(Debug, thiserror::Error)]
enum RedisFailure {
    #[error("circuit open after a recent failure")]
    CircuitOpen,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Pool(#[from] deadpool_redis::PoolError),
    #[error(transparent)]
    Command(#[from] redis::RedisError),
}

impl RedisOrderCache {
    /// Builds the cache; no connection is made until first use, so a missing Redis never
    /// stops the service from starting.
    pub fn new(
        url: &str,
        settings: CacheSettings,
        renderer: Arc<dyn OrderRenderer>,
    ) -> Result<Self, CacheSetupError> {
        let manager = Manager::new(crate::endpoint::connection_info(url)?)?;
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.timeout))
            .create_timeout(Some(settings.timeout))
            .recycle_timeout(Some(settings.timeout))
            .build()?;
        Ok(Self {
            pool,
            connections: ThreadSlots::new(),
            breaker: CircuitBreaker::new("redis", settings.cooldown),
            fence: fence(&settings),
            generation_start: RandomState::new().hash_one(std::process::id()),
            generations_made: AtomicU64::new(0),
            settings,
            renderer,
            script: Script::new(PUT_IF_NEWER),
            stats: Arc::new(CacheStats::default()),
        })
    }

    pub fn stats(&self) -> Arc<CacheStats> {
        self.stats.clone()
    }

    /// Runs one Redis operation, unless the circuit is open: each of its round trips
    /// within the timeout, and connecting too.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, DomainError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.breaker.allow() {
            self.stats.skip();
            return Err(DomainError::unavailable(RedisFailure::CircuitOpen));
        }
        let slot = self.connections.slot();
        let outcome = match self.connections.get(slot) {
            // The connection bounds each command by its response timeout, which is ours; a
            // timer of our own around it as well was a second timer armed and cancelled per
            // cached read.
            Some(conn) => op(conn).await.map_err(RedisFailure::from),
            None => {
                let attempt = async {
                    let conn = self.connect(slot).await?;
                    Ok::<T, RedisFailure>(op(conn).await?)
                };
                match tokio::time::timeout(self.settings.timeout, attempt).await {
                    Ok(result) => result,
                    Err(_) => Err(RedisFailure::Timeout(self.settings.timeout)),
                }
            }
        };
        match outcome {
            Ok(value) => {
                self.breaker.record_success();
                Ok(value)
            }
            Err(error) => {
                // A failure is nearly always Redis itself (a restart, an outage), which took
                // every thread's connection with it: each next call starts afresh.
                self.connections.clear_all();
                self.stats.error();
                self.breaker.record_failure(&error);
                Err(DomainError::unavailable(error))
            }
        }
    }

    /// Opens the calling thread's connection.
    async fn connect(&self, slot: usize) -> Result<MultiplexedConnection, RedisFailure> {
        let mut conn = Connection::take(self.pool.get().await?);
        conn.set_response_timeout(self.settings.timeout);
        self.connections.set(slot, conn.clone());
        Ok(conn)
    }

    fn entry(&self, order: &Order) -> Result<Vec<u8>, DomainError> {
        let body = self.renderer.render(order)?;
        Ok(encode(order, &self.settings.epoch, &body))
    }

    fn key(&self, id: OrderId) -> String {
        format!("{}order:{id}", self.settings.key_prefix)
    }

    fn ttl_ms(&self) -> u64 {
        self.settings.ttl.as_millis() as u64
    }

    fn generation_key(&self, customer: UserId) -> String {
        let (prefix, epoch) = (&self.settings.key_prefix, &self.settings.epoch);
        format!("{prefix}orders-gen:{epoch}:{customer}")
    }

    fn page_key(&self, customer: UserId) -> String {
        let (prefix, epoch) = (&self.settings.key_prefix, &self.settings.epoch);
        format!("{prefix}orders-page:{epoch}:{customer}")
    }

    /// A generation outlives the pages stored under it, so that a page never outlives it.
    fn generation_ttl_ms(&self) -> u64 {
        2 * self.ttl_ms()
    }

    fn fresh_generation(&self) -> u64 {
        let made = self.generations_made.fetch_add(1, Ordering::Relaxed);
        self.generation_start.wrapping_add(made)
    }

    /// The command that gives the customer a fresh generation, which invalidates every page
    /// stored for them before; and that generation.
    fn renewal(&self, customer: UserId) -> (redis::Cmd, u64) {
        let generation = self.fresh_generation();
        (self.renewal_to(customer, generation), generation)
    }

    fn renewal_to(&self, customer: UserId, generation: u64) -> redis::Cmd {
        let mut set = redis::cmd("SET");
        set.arg(self.generation_key(customer))
            .arg(generation)
            .arg("PX")
            .arg(self.generation_ttl_ms());
        set
    }

    async fn renew_generation(&self, customer: UserId) -> Result<u64, DomainError> {
        let (set, generation) = self.renewal(customer);
        self.run(|mut conn| async move { set.query_async::<()>(&mut conn).await })
            .await?;
        Ok(generation)
    }

    /// The customer's current generation, starting one if Redis has none.
    async fn current_generation(&self, customer: UserId) -> Result<Option<u64>, DomainError> {
        let (key, fresh, ttl) = (
            self.generation_key(customer),
            self.fresh_generation(),
            self.generation_ttl_ms(),
        );
        self.run(|mut conn| async move {
            let started: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(fresh)
                .arg("NX")
                .arg("PX")
                .arg(ttl)
                .query_async(&mut conn)
                .await?;
            if started.is_some() {
                return Ok(Some(fresh));
            }
            // Another reader or a write got there first.
            conn.get(&key).await
        })
        .await
    }

    fn bypass(&self, customer: UserId) -> CachedPage {
        self.stats.miss();
        tracing::debug!(
            customer_id = customer.get(),
            "list cache bypassed: the change feed is behind"
        );
        CachedPage::Bypass
    }

    fn distrusted(&self) -> Option<RenderedOrder> {
        self.stats.miss();
        tracing::debug!("cache bypassed: the change feed is behind");
        None
    }
}

#[async_trait]
impl OrderCache for RedisOrderCache {
    async fn get(&self, id: OrderId) -> Result<Option<RenderedOrder>, DomainError> {
        if !self.fence.is_trusted() {
            return Ok(self.distrusted());
        }
        let raw: Option<Vec<u8>> = self
            .run(|mut conn| async move { conn.get(self.key(id)).await })
            .await?;
        match raw.and_then(|raw| decode(raw.into(), &self.settings.epoch)) {
            Some((version, order)) if self.fence.admits(id, version) => {
                self.stats.hit();
                tracing::debug!(order_id = id.get(), "cache hit");
                Ok(Some(order))
            }
            Some(_) => {
                self.stats.miss();
                tracing::debug!(
                    order_id = id.get(),
                    "cache entry older than a committed change; read from the database"
                );
                Ok(None)
            }
            None => {
                self.stats.miss();
                tracing::debug!(order_id = id.get(), "cache miss");
                Ok(None)
            }
        }
    }

    async fn put(&self, order: &Order) -> Result<(), DomainError> {
        if !self.fence.admits(order.id, order.version) {
            // Read before a change this process already knows of: storing it would only
            // keep an entry every process must refuse.
            return Ok(());
        }
        let entry = self.entry(order)?;
        let ttl = self.ttl_ms();
        let script = &self.script;
        let epoch = &self.settings.epoch;
        let _: i64 = self
            .run(|mut conn| async move {
                script
                    .key(self.key(order.id))
                    .arg(order.version)
                    .arg(entry)
                    .arg(ttl)
                    .arg(epoch)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn replace(&self, orders: &[Order]) -> Result<(), DomainError> {
        if orders.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        // Loading first makes the EVALSHAs below safe even right after a Redis restart.
        pipe.cmd("SCRIPT").arg("LOAD").arg(PUT_IF_NEWER).ignore();
        for order in orders {
            let entry = self.entry(order)?;
            pipe.cmd("EVALSHA")
                .arg(self.script.get_hash())
                .arg(1)
                .arg(self.key(order.id))
                .arg(order.version)
                .arg(entry)
                .arg(self.ttl_ms())
                .arg(&self.settings.epoch)
                .ignore();
        }
        // Each customer's new generation names one of the changes, so that the other
        // processes, told of it by the change feed, can tell that its writer renewed it.
        let renewals: BTreeMap<UserId, u64> = orders
            .iter()
            .map(|order| (order.customer_id, written_generation(&order.into())))
            .collect();
        for (&customer, &generation) in &renewals {
            pipe.add_command(self.renewal_to(customer, generation))
                .ignore();
        }
        let result: Result<(), DomainError> = self
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await;
        if result.is_ok() {
            // One commit and one renewal after it cover every change of the batch.
            for order in orders {
                self.fence.wrote(written_generation(&order.into()));
            }
        } else {
            for order in orders {
                self.fence.raise(order.id, order.version);
            }
            for customer in customers_of(orders) {
                self.fence.mark_list(customer, None);
            }
        }
        result
    }

    async fn settle(&self) {
        // Another process trusts its cache only while its last complete read of the feed
        // began less than a lease ago; a lease after this (already committed) change, its
        // next read has begun after the commit, and so raised the order's floor.
        if let Some(lease) = self.fence.lease() {
            tokio::time::sleep(lease).await;
        }
    }

    async fn first_page(
        &self,
        customer: UserId,
        size: PageSize,
    ) -> Result<CachedPage, DomainError> {
        if !self.fence.is_trusted() {
            return Ok(self.bypass(customer));
        }
        let mark = self.fence.list_mark(customer);
        let keys = (self.generation_key(customer), self.page_key(customer));
        let (generation, entry): (Option<u64>, Option<Vec<u8>>) = self
            .run(|mut conn| async move {
                redis::cmd("MGET")
                    .arg(keys.0)
                    .arg(keys.1)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        if let Some(mark) = mark {
            if !mark.satisfied_by(generation) {
                // A page stored before a change whose writer did not renew the generation.
                let generation = self.renew_generation(customer).await?;
                self.fence.list_checked(customer, mark);
                self.stats.miss();
                return Ok(CachedPage::Miss(ListGeneration(generation)));
            }
            self.fence.list_checked(customer, mark);
        }
        if let Some(page) = generation
            .zip(entry)
            .and_then(|(generation, raw)| page_entry::decode(raw, generation, size))
        {
            self.stats.hit();
            tracing::debug!(customer_id = customer.get(), "list cache hit");
            return Ok(CachedPage::Hit(page));
        }
        let generation = match generation {
            Some(generation) => Some(generation),
            None => self.current_generation(customer).await?,
        };
        self.stats.miss();
        tracing::debug!(customer_id = customer.get(), "list cache miss");
        Ok(generation.map_or(CachedPage::Bypass, |g| CachedPage::Miss(ListGeneration(g))))
    }

    async fn put_first_page(
        &self,
        customer: UserId,
        size: PageSize,
        generation: ListGeneration,
        page: &RenderedPage,
    ) -> Result<(), DomainError> {
        let (key, entry, ttl) = (
            self.page_key(customer),
            page_entry::encode(generation.0, size, page),
            self.ttl_ms(),
        );
        self.run(|mut conn| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(entry)
                .arg("PX")
                .arg(ttl)
                .query_async::<()>(&mut conn)
                .await
        })
        .await
    }
}

/// Every process learns of every committed change here, its own included.
impl ChangeWitness for RedisOrderCache {
    fn changed(&self, changes: &[CommittedVersion]) {
        // An order's first version replaces nothing that could be cached.
        for change in changes.iter().filter(|change| change.version > 1) {
            self.fence.raise(change.order_id, change.version);
        }
        for change in changes {
            let generation = written_generation(change);
            if !self.fence.wrote_itself(generation) {
                self.fence.mark_list(change.customer_id, Some(generation));
            }
        }
    }

    fn looks_back(&self) -> Duration {
        self.fence.window()
    }

    fn caught_up(&self, as_of: Instant) {
        self.fence.caught_up(as_of);
    }

    fn lost_track(&self) {
        tracing::warn!(
            "the change feed may have missed changes: the cache is bypassed until every entry older than them has expired"
        );
        self.fence.distrust_all();
    }
}

/// A floor holds for two TTLs: an entry written before its change expires within one, and
/// a fill from a read begun before the change is stored within another (a fill stored
/// later than that is one stalled for minutes).
fn fence(settings: &CacheSettings) -> Fence {
    let fence = Fence::local(settings.ttl * 2);
    match settings.feed_lease {
        Some(lease) => fence.followed(lease),
        None => fence,
    }
}

/// The generation a change's writer stores for the customer after its commit: the same in
/// every process, never 0, and (unlike the fresh ones, which count up from a random start)
/// naming the change.
fn written_generation(change: &CommittedVersion) -> u64 {
    // splitmix64's finaliser over the order id and the version.
    let mut z = (change.order_id.get() as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(change.version as u64);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).max(1)
}

fn customers_of(orders: &[Order]) -> BTreeSet<UserId> {
    orders.iter().map(|order| order.customer_id).collect()
}

/// Readiness: one `PING` within the cache's timeout (and not while its circuit is open).
#[async_trait]
impl DependencyProbe for RedisOrderCache {
    async fn check(&self) -> Result<(), DomainError> {
        self.run(|mut conn| async move { redis::cmd("PING").query_async::<()>(&mut conn).await })
            .await
    }
}
