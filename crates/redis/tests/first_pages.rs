//! Customers' first pages in a real, private redis-server: served while none of the
//! customer's orders changed, never after a change, even one that missed the cache.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use trachios_domain::ports::OrderCache;
use trachios_domain::{
    CachedPage, ItemDescription, ListGeneration, Order, OrderId, OrderStatus, PageSize,
    RenderedPage, UserId,
};
use trachios_redis::{CacheSettings, RedisOrderCache};
use trachios_test_support::{init_test_logging, DomainJson, PrivateRedis};

fn cache_at(url: &str, settings: CacheSettings) -> RedisOrderCache {
    RedisOrderCache::new(url, settings, Arc::new(DomainJson)).expect("valid settings")
}

fn settings() -> CacheSettings {
    init_test_logging();
    CacheSettings {
        cooldown: Duration::from_millis(100),
        // Generous for a loaded machine (a first connection once missed 50 ms in CI while
        // a build ran beside it); the 1.5 s pause below still outlasts it.
        timeout: Duration::from_millis(500),
        epoch: "e1".into(),
        ..CacheSettings::default()
    }
}

fn uid(n: i64) -> UserId {
    UserId::parse(n).unwrap()
}

fn size(n: usize) -> PageSize {
    PageSize::new(n).unwrap()
}

fn order_of(customer: i64, id: i64, version: i64) -> Order {
    Order {
        id: OrderId::parse(id).unwrap(),
        customer_id: uid(customer),
        item_description: ItemDescription::parse("Desk").unwrap(),
        details: Default::default(),
        status: OrderStatus::Created,
        version,
        next_step_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn page(body: &'static str, next_before: Option<i64>) -> RenderedPage {
    RenderedPage {
        body: Bytes::from_static(body.as_bytes()),
        next_before,
    }
}

async fn miss(cache: &RedisOrderCache, customer: i64) -> ListGeneration {
    match cache.first_page(uid(customer), size(100)).await {
        Ok(CachedPage::Miss(generation)) => generation,
        other => panic!("expected a miss, got {other:?}"),
    }
}

async fn hit(cache: &RedisOrderCache, customer: i64) -> RenderedPage {
    match cache.first_page(uid(customer), size(100)).await {
        Ok(CachedPage::Hit(page)) => page,
        other => panic!("expected a hit, got {other:?}"),
    }
}

#[tokio::test]
async fn a_page_is_served_until_one_of_the_customers_orders_changes() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    for customer in [1, 2] {
        let generation = miss(&cache, customer).await;
        cache
            .put_first_page(
                uid(customer),
                size(100),
                generation,
                &page("[9,8]", Some(8)),
            )
            .await
            .unwrap();
        assert_eq!(hit(&cache, customer).await, page("[9,8]", Some(8)));
    }
    assert!(
        matches!(
            cache.first_page(uid(1), size(10)).await,
            Ok(CachedPage::Miss(_))
        ),
        "a page of another size"
    );
    let ttl: i64 = redis
        .cli(&["PTTL", "orders-page:e1:1"])
        .await
        .parse()
        .unwrap();
    assert!((299_000..=300_000).contains(&ttl), "{ttl}");

    cache.replace(&[order_of(1, 5, 2)]).await.unwrap();
    miss(&cache, 1).await;
    assert_eq!(
        hit(&cache, 2).await,
        page("[9,8]", Some(8)),
        "another customer's page stays"
    );
    let counts = cache.stats().counts();
    assert_eq!((counts.hits, counts.misses), (3, 4));
}

#[tokio::test]
async fn a_page_loaded_before_a_change_and_stored_after_it_is_never_served() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    // A reader learns the generation, loads the page and stalls; a change commits and
    // reaches the cache; then the reader stores what it loaded.
    let read_before = miss(&cache, 1).await;
    cache.replace(&[order_of(1, 5, 2)]).await.unwrap();
    cache
        .put_first_page(uid(1), size(100), read_before, &page("[old]", None))
        .await
        .unwrap();
    let now = miss(&cache, 1).await;
    assert_ne!(now, read_before);
    cache
        .put_first_page(uid(1), size(100), now, &page("[new]", None))
        .await
        .unwrap();
    assert_eq!(hit(&cache, 1).await, page("[new]", None));
}

#[tokio::test]
async fn after_a_change_that_missed_the_cache_the_customers_old_page_is_never_served() {
    let redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    let generation = miss(&cache, 1).await;
    cache
        .put_first_page(uid(1), size(100), generation, &page("[old]", None))
        .await
        .unwrap();
    // Redis stops answering (but keeps its data) while a change reaches the cache.
    assert_eq!(redis.cli(&["CLIENT", "PAUSE", "1500", "ALL"]).await, "OK");
    assert!(cache.replace(&[order_of(1, 5, 2)]).await.is_err());
    assert_eq!(redis.cli(&["PING"]).await, "PONG");
    assert_eq!(
        redis.cli(&["GET", "orders-gen:e1:1"]).await,
        generation.0.to_string(),
        "Redis really does still hold the old generation"
    );
    // The breaker lets a call through again after its cooldown.
    let mut answer = cache.first_page(uid(1), size(100)).await;
    for _ in 0..50 {
        if answer.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        answer = cache.first_page(uid(1), size(100)).await;
    }
    let Ok(CachedPage::Miss(renewed)) = answer else {
        panic!("the stale page must not be served: {answer:?}");
    };
    assert_ne!(renewed, generation);
    cache
        .put_first_page(uid(1), size(100), renewed, &page("[new]", None))
        .await
        .unwrap();
    assert_eq!(
        hit(&cache, 1).await,
        page("[new]", None),
        "trusted again once renewed"
    );
}

#[tokio::test]
async fn pages_of_another_database_are_misses() {
    let redis = PrivateRedis::start().await;
    let old_db = cache_at(&redis.url(), settings());
    let new_db = cache_at(
        &redis.url(),
        CacheSettings {
            epoch: "e2".into(),
            ..settings()
        },
    );
    let generation = miss(&old_db, 1).await;
    old_db
        .put_first_page(uid(1), size(100), generation, &page("[old db]", None))
        .await
        .unwrap();
    miss(&new_db, 1).await;
}

#[tokio::test]
async fn with_redis_down_a_first_page_is_an_error_the_service_reads_past() {
    let mut redis = PrivateRedis::start().await;
    let cache = cache_at(&redis.url(), settings());
    miss(&cache, 1).await;
    redis.stop().await;
    assert!(cache.first_page(uid(1), size(100)).await.is_err());
    assert!(cache
        .put_first_page(uid(1), size(100), ListGeneration(1), &page("[]", None))
        .await
        .is_err());
}
