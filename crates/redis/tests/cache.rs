//! The Redis order cache against real, private redis-server processes that the tests
//! stop, pause and restart.

#[path = "support/private_redis.rs"]
mod private_redis;

use std::time::{Duration, Instant};

use chrono::Utc;
use trachios_domain::ports::OrderCache;
use trachios_domain::{DomainError, Order, OrderId, OrderStatus};
use trachios_redis::{CacheSettings, RedisOrderCache};

use private_redis::PrivateRedis;

fn settings() -> CacheSettings {
    CacheSettings {
        cooldown: Duration::from_millis(200),
        ..CacheSettings::default()
    }
}

fn order(id: i64, status: OrderStatus, version: i64) -> Order {
    Order {
        id,
        customer_id: 1,
        item_description: "Desk".into(),
        status,
        version,
        next_step_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn id(n: i64) -> OrderId {
    OrderId::parse(n).unwrap()
}

#[tokio::test]
async fn entries_round_trip_with_a_five_minute_ttl_and_are_counted() {
    let redis = PrivateRedis::start();
    let cache = RedisOrderCache::new(&redis.url(), settings()).unwrap();
    assert_eq!(cache.get(id(1)).await, Ok(None));
    cache.put(&order(1, OrderStatus::Created, 1)).await.unwrap();
    assert_eq!(
        cache.get(id(1)).await.unwrap().unwrap().status,
        OrderStatus::Created
    );
    let ttl: i64 = redis.cli(&["PTTL", "order:1"]).parse().unwrap();
    assert!((299_000..=300_000).contains(&ttl), "{ttl}");
    let counts = cache.stats().counts();
    assert_eq!((counts.hits, counts.misses), (1, 1));
}

#[tokio::test]
async fn an_older_version_never_overwrites_a_newer_one() {
    let redis = PrivateRedis::start();
    let cache = RedisOrderCache::new(&redis.url(), settings()).unwrap();
    // The stale-set interleaving, step by step: a reader loads version 1 and stalls;
    // a writer stores version 2 and updates the cache; the reader then fills the cache.
    let loaded_by_reader = order(7, OrderStatus::Created, 1);
    cache
        .replace(&[order(7, OrderStatus::Cancelled, 2)])
        .await
        .unwrap();
    cache.put(&loaded_by_reader).await.unwrap();
    assert_eq!(
        cache.get(id(7)).await.unwrap().unwrap().status,
        OrderStatus::Cancelled
    );
    // And a newer version does replace an older one.
    cache
        .put(&order(7, OrderStatus::InTransit, 3))
        .await
        .unwrap();
    assert_eq!(cache.get(id(7)).await.unwrap().unwrap().version, 3);
}

#[tokio::test]
async fn a_batch_replace_is_one_pipeline_that_survives_a_script_flush() {
    let redis = PrivateRedis::start();
    let cache = RedisOrderCache::new(&redis.url(), settings()).unwrap();
    redis.cli(&["SCRIPT", "FLUSH"]);
    let batch: Vec<Order> = (1..=500)
        .map(|n| order(n, OrderStatus::Dispatched, 2))
        .collect();
    cache.replace(&batch).await.unwrap();
    assert_eq!(redis.cli(&["DBSIZE"]), "500");
    assert_eq!(
        cache.get(id(250)).await.unwrap().unwrap().status,
        OrderStatus::Dispatched
    );
}

#[tokio::test]
async fn an_outage_costs_no_waiting_and_the_cache_returns_with_redis() {
    let mut redis = PrivateRedis::start();
    let cache = RedisOrderCache::new(&redis.url(), settings()).unwrap();
    cache.put(&order(1, OrderStatus::Created, 1)).await.unwrap();
    redis.stop();

    let started = Instant::now();
    assert_eq!(cache.get(id(1)).await, Err(DomainError::Unavailable));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the first failure is bounded: {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    for _ in 0..100 {
        assert_eq!(cache.get(id(1)).await, Err(DomainError::Unavailable));
    }
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "an open circuit does not wait: {:?}",
        started.elapsed()
    );
    assert!(cache.stats().counts().skipped >= 99);

    redis.restart();
    let back = async {
        loop {
            if cache
                .put(&order(1, OrderStatus::Dispatched, 2))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), back)
        .await
        .expect("the cache is used again once Redis is back");
    assert_eq!(cache.get(id(1)).await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn a_write_that_missed_the_cache_is_never_served_stale_afterwards() {
    let redis = PrivateRedis::start();
    let cache = RedisOrderCache::new(&redis.url(), settings()).unwrap();
    cache.put(&order(3, OrderStatus::Created, 1)).await.unwrap();
    // Redis stops answering (but keeps its data) while a write updates the order.
    redis.cli(&["CLIENT", "PAUSE", "400", "ALL"]);
    assert!(cache
        .replace(&[order(3, OrderStatus::Cancelled, 2)])
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(650)).await;
    // Redis is back with version 1 still stored; the cache must not serve it.
    assert_eq!(
        cache.get(id(3)).await,
        Ok(None),
        "a suspect order is read from the database"
    );
    // The database's version 2 fills the cache and the order is trusted again.
    cache
        .put(&order(3, OrderStatus::Cancelled, 2))
        .await
        .unwrap();
    assert_eq!(
        cache.get(id(3)).await.unwrap().unwrap().status,
        OrderStatus::Cancelled
    );
}

#[tokio::test]
async fn an_unreachable_host_fails_fast() {
    let cache = RedisOrderCache::new("redis://10.255.255.1:6379/", settings()).unwrap();
    let started = Instant::now();
    assert_eq!(cache.get(id(1)).await, Err(DomainError::Unavailable));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn entries_of_another_database_are_misses_and_get_replaced() {
    let redis = PrivateRedis::start();
    let old_db = RedisOrderCache::new(
        &redis.url(),
        CacheSettings {
            epoch: "old".into(),
            ..settings()
        },
    )
    .unwrap();
    let new_db = RedisOrderCache::new(
        &redis.url(),
        CacheSettings {
            epoch: "new".into(),
            ..settings()
        },
    )
    .unwrap();
    // The old database got further along with its order 1 than the new one has.
    old_db
        .put(&order(1, OrderStatus::Delivered, 4))
        .await
        .unwrap();
    assert_eq!(
        new_db.get(id(1)).await,
        Ok(None),
        "another database's order 1 is not this one's"
    );
    new_db
        .put(&order(1, OrderStatus::Created, 1))
        .await
        .unwrap();
    assert_eq!(
        new_db.get(id(1)).await.unwrap().unwrap().status,
        OrderStatus::Created
    );
}
