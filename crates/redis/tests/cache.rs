//! The Redis order cache against real, private redis-server processes that the tests
//! stop, pause and restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use trachios_domain::ports::OrderCache;
use trachios_domain::{DomainError, ItemDescription, Order, OrderId, OrderStatus, UserId};
use trachios_redis::{CacheSettings, RedisOrderCache};
use trachios_test_support::{init_test_logging, rendered_by_domain_json, DomainJson, PrivateRedis};

fn cache_at(url: &str, settings: CacheSettings) -> RedisOrderCache {
    RedisOrderCache::new(url, settings, Arc::new(DomainJson)).expect("valid settings")
}

fn settings() -> CacheSettings {
    init_test_logging();
    CacheSettings {
        cooldown: Duration::from_millis(100),
        ..CacheSettings::default()
    }
}

fn order(id: i64, status: OrderStatus, version: i64) -> Order {
    Order {
        id: OrderId::parse(id).unwrap(),
        customer_id: UserId::parse(1).unwrap(),
        item_description: ItemDescription::parse("Desk").unwrap(),
        details: Default::default(),
        status,
        version,
        next_step_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

/// The order a cache read answered with; the test fails on a miss.
async fn cached(cache: &RedisOrderCache, n: i64) -> Order {
    let rendered = cache.get(id(n)).await.expect("read").expect("a hit");
    rendered_by_domain_json(&rendered)
}

fn id(n: i64) -> OrderId {
    OrderId::parse(n).unwrap()
}

#[tokio::test]
async fn entries_round_trip_with_a_five_minute_ttl_and_are_counted() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    assert!(matches!(cache.get(id(1)).await, Ok(None)));
    cache.put(&order(1, OrderStatus::Created, 1)).await.unwrap();
    assert_eq!(cached(&cache, 1).await.status, OrderStatus::Created);
    let ttl: i64 = redis.cli(&["PTTL", "order:1"]).await.parse().unwrap();
    assert!((299_000..=300_000).contains(&ttl), "{ttl}");
    let counts = cache.stats().counts();
    assert_eq!((counts.hits, counts.misses), (1, 1));
}

#[tokio::test]
async fn an_older_version_never_overwrites_a_newer_one() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    // The stale-set interleaving, step by step: a reader loads version 1 and stalls;
    // a writer stores version 2 and updates the cache; the reader then fills the cache.
    let loaded_by_reader = order(7, OrderStatus::Created, 1);
    cache
        .replace(&[order(7, OrderStatus::Cancelled, 2)])
        .await
        .unwrap();
    cache.put(&loaded_by_reader).await.unwrap();
    assert_eq!(cached(&cache, 7).await.status, OrderStatus::Cancelled);
    // And a newer version does replace an older one.
    cache
        .put(&order(7, OrderStatus::InTransit, 3))
        .await
        .unwrap();
    assert_eq!(cached(&cache, 7).await.version, 3);
}

#[tokio::test]
async fn a_batch_replace_is_one_pipeline_that_survives_a_script_flush() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    assert_eq!(redis.cli(&["SCRIPT", "FLUSH"]).await, "OK");
    let batch: Vec<Order> = (1..=500)
        .map(|n| order(n, OrderStatus::Dispatched, 2))
        .collect();
    cache.replace(&batch).await.unwrap();
    assert_eq!(
        redis.cli(&["DBSIZE"]).await,
        "501",
        "500 orders and their customer's list generation"
    );
    assert_eq!(cached(&cache, 250).await.status, OrderStatus::Dispatched);
}

/// Retries `put` until Redis takes it again (the circuit lets a probe through after its
/// cooldown), failing the test after a generous bound.
async fn until_put_succeeds(cache: &RedisOrderCache, order: &Order) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.put(order).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the cache never took a write again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_outage_opens_the_circuit_and_later_calls_skip_redis() {
    let mut redis = PrivateRedis::start().await;
    let cache = cache_at(
        &redis.url(),
        CacheSettings {
            cooldown: Duration::from_secs(600),
            ..settings()
        },
    );
    cache.put(&order(1, OrderStatus::Created, 1)).await.unwrap();
    redis.stop().await;

    let started = Instant::now();
    let first = cache.get(id(1)).await;
    assert!(
        matches!(first, Err(DomainError::Unavailable(_))),
        "{first:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the first failure is bounded by the timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(cache.stats().counts().errors, 1);
    for _ in 0..100 {
        assert!(matches!(
            cache.get(id(1)).await,
            Err(DomainError::Unavailable(_))
        ));
    }
    let counts = cache.stats().counts();
    assert_eq!(
        (counts.errors, counts.skipped),
        (1, 100),
        "while the circuit is open, no call reaches Redis"
    );
}

#[tokio::test]
async fn the_cache_is_used_again_once_redis_is_back() {
    let mut redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    cache.put(&order(1, OrderStatus::Created, 1)).await.unwrap();
    redis.stop().await;
    assert!(cache.get(id(1)).await.is_err());

    redis.restart().await;
    until_put_succeeds(&cache, &order(1, OrderStatus::Dispatched, 2)).await;
    assert_eq!(cached(&cache, 1).await.version, 2);
    assert_eq!(
        cache.stats().counts().hits,
        1,
        "the read after the outage came from Redis"
    );
}

#[tokio::test]
async fn a_write_that_missed_the_cache_is_never_served_stale_afterwards() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    cache.put(&order(3, OrderStatus::Created, 1)).await.unwrap();
    // Redis stops answering (but keeps its data) while a write updates the order.
    assert_eq!(redis.cli(&["CLIENT", "PAUSE", "1500", "ALL"]).await, "OK");
    let started = Instant::now();
    assert!(cache
        .replace(&[order(3, OrderStatus::Cancelled, 2)])
        .await
        .is_err());
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "a round trip on an open connection gives up after the cache's timeout (50 ms), not \
         the client's default (500 ms) nor when Redis answers again: {:?}",
        started.elapsed()
    );
    // A PING is held until the pause is over: then Redis answers again, version 1 stored.
    assert_eq!(redis.cli(&["PING"]).await, "PONG");
    assert_eq!(
        redis.cli(&["GET", "order:3"]).await.split(':').next(),
        Some("1"),
        "Redis really does still hold the old version"
    );
    assert!(
        matches!(cache.get(id(3)).await, Ok(None)),
        "a suspect order is read from the database, not from the stale entry"
    );
    // The database's version 2 fills the cache and the order is trusted again.
    until_put_succeeds(&cache, &order(3, OrderStatus::Cancelled, 2)).await;
    assert_eq!(cached(&cache, 3).await.status, OrderStatus::Cancelled);
}

#[tokio::test]
async fn an_unreachable_host_fails_fast() {
    let cache = cache_at("redis://10.255.255.1:6379/", settings());
    let started = Instant::now();
    let outcome = cache.get(id(1)).await;
    assert!(
        matches!(outcome, Err(DomainError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn entries_of_another_database_are_misses_and_get_replaced() {
    let redis = PrivateRedis::start().await;
    let old_db = cache_at(
        &redis.url(),
        CacheSettings {
            epoch: "old".into(),
            ..settings()
        },
    );
    let new_db = cache_at(
        &redis.url(),
        CacheSettings {
            epoch: "new".into(),
            ..settings()
        },
    );
    // The old database got further along with its order 1 than the new one has.
    old_db
        .put(&order(1, OrderStatus::Delivered, 4))
        .await
        .unwrap();
    assert!(
        matches!(new_db.get(id(1)).await, Ok(None)),
        "another database's order 1 is not this one's"
    );
    new_db
        .put(&order(1, OrderStatus::Created, 1))
        .await
        .unwrap();
    assert_eq!(cached(&new_db, 1).await.status, OrderStatus::Created);
}

#[tokio::test]
async fn an_entry_of_the_earlier_format_is_a_miss_until_a_newer_version_replaces_it() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    // What a process of the previous release stored: the domain's JSON after the epoch.
    let earlier = format!(
        "2::{}",
        serde_json::to_string(&order(5, OrderStatus::Dispatched, 2)).unwrap()
    );
    assert_eq!(redis.cli(&["SET", "order:5", &earlier]).await, "OK");
    assert!(matches!(cache.get(id(5)).await, Ok(None)));
    // The same version read from the database does not replace it (the compare-and-set
    // reads the version both formats lead with), so the order keeps being read there...
    cache
        .put(&order(5, OrderStatus::Dispatched, 2))
        .await
        .unwrap();
    assert!(matches!(cache.get(id(5)).await, Ok(None)));
    // ...and an older one never does; the next change does.
    cache.put(&order(5, OrderStatus::Created, 1)).await.unwrap();
    assert!(matches!(cache.get(id(5)).await, Ok(None)));
    cache
        .replace(&[order(5, OrderStatus::InTransit, 3)])
        .await
        .unwrap();
    assert_eq!(cached(&cache, 5).await.status, OrderStatus::InTransit);
}
