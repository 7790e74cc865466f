//! `rediss://` against a redis-server of the test's own that listens only for TLS, with a
//! certificate made for `localhost` by an authority of the test's own.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use trachios_domain::ports::OrderCache;
use trachios_domain::{DomainError, ItemDescription, Order, OrderId, OrderStatus, UserId};
use trachios_redis::{CacheSettings, RedisOrderCache};
use trachios_test_support::{
    free_port, init_test_logging, rendered_by_domain_json, DomainJson, TestCertificates, TlsRedis,
};

fn cache_at(url: &str) -> RedisOrderCache {
    let settings = CacheSettings {
        // A TLS handshake in an unoptimised test build takes longer than the 50 ms default.
        timeout: Duration::from_secs(2),
        cooldown: Duration::from_millis(10),
        ..CacheSettings::default()
    };
    RedisOrderCache::new(url, settings, Arc::new(DomainJson)).expect("valid settings")
}

fn order(id: i64) -> Order {
    Order {
        id: OrderId::parse(id).unwrap(),
        customer_id: UserId::parse(1).unwrap(),
        item_description: ItemDescription::parse("Desk").unwrap(),
        details: Default::default(),
        status: OrderStatus::Created,
        version: 1,
        next_step_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

#[tokio::test]
async fn the_cache_speaks_tls_to_a_server_whose_certificate_it_checks() {
    init_test_logging();
    let dir = std::env::temp_dir().join(format!("trachios-redis-tls-{}", std::process::id()));
    let certs = TestCertificates::make(&dir).expect("certificates");
    let stranger = certs.stranger_ca().expect("a second authority");
    let redis = TlsRedis::start(&certs, free_port().expect("a port")).expect("a TLS redis-server");
    let ca = certs.ca.display().to_string();

    let trusted = cache_at(&redis.url("localhost", &format!("sslrootcert={ca}")));
    trusted.put(&order(1)).await.expect("a put over TLS");
    let hit = trusted
        .get(OrderId::parse(1).unwrap())
        .await
        .expect("a read");
    let hit = rendered_by_domain_json(&hit.expect("a hit"));
    assert_eq!(hit.id, OrderId::parse(1).unwrap());
    assert_eq!(redis.cli(&["EXISTS", "order:1"]).as_deref(), Ok("1"));

    for refused in [
        // The certificate is for localhost, not for the address.
        redis.url("127.0.0.1", &format!("sslrootcert={ca}")),
        redis.url("localhost", &format!("sslrootcert={}", stranger.display())),
        // Mozilla's roots never signed a test's certificate.
        redis.url("localhost", ""),
    ] {
        let cache = cache_at(&refused);
        let outcome = cache.put(&order(2)).await;
        assert!(
            matches!(outcome, Err(DomainError::Unavailable(_))),
            "{refused}: {outcome:?}"
        );
    }
    assert_eq!(redis.cli(&["EXISTS", "order:2"]).as_deref(), Ok("0"));
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
