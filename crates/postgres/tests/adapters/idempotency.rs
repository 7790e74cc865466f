//! Orders created under idempotency keys: one order per key, whatever the interleaving.

use std::sync::Arc;

use chrono::{Duration, Utc};
use trachios_domain::ports::OrderRepository;
use trachios_domain::{IdempotencyKey, KeyClaim, KeyedInsert, RequestFingerprint};

use crate::fixture::{customer, fixture, new_order, Fixture};

fn claim(key: &str, fingerprint: u8, lifetime: Duration) -> KeyClaim {
    KeyClaim {
        key: IdempotencyKey::parse(key).unwrap(),
        fingerprint: RequestFingerprint([fingerprint; 32]),
        expires_at: Utc::now() + lifetime,
    }
}

async fn count(f: &Fixture, table: &str) -> i64 {
    trachios_test_support::psql(&f.url, &format!("SELECT count(*) FROM {table}"))
        .await
        .trim()
        .parse()
        .expect("a count")
}

#[tokio::test]
async fn a_taken_key_stores_nothing_and_returns_the_first_answer() {
    let f = fixture().await;
    let day = Duration::hours(24);
    let KeyedInsert::Inserted(first) = f
        .orders
        .insert_keyed(new_order(f.a, Duration::seconds(60)), claim("k", 1, day))
        .await
        .unwrap()
    else {
        panic!("a free key inserts");
    };
    let again = f
        .orders
        .insert_keyed(new_order(f.a, Duration::seconds(60)), claim("k", 2, day))
        .await
        .unwrap();
    assert_eq!(
        again,
        KeyedInsert::Taken {
            fingerprint: RequestFingerprint([1; 32]),
            kept: first,
        }
    );
    assert_eq!(count(&f, "orders").await, 1);
    assert_eq!(count(&f, "order_events").await, 1);

    let b = customer(&f.users, "b@x.io").await;
    let theirs = f
        .orders
        .insert_keyed(new_order(b, Duration::seconds(60)), claim("k", 1, day))
        .await
        .unwrap();
    assert!(
        matches!(theirs, KeyedInsert::Inserted(o) if o.customer_id == b),
        "keys are per user"
    );
}

#[tokio::test]
async fn twenty_concurrent_inserts_under_one_key_store_one_order() {
    let f = fixture().await;
    let orders = Arc::new(f.orders.clone());
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let orders = orders.clone();
            let a = f.a;
            tokio::spawn(async move {
                orders
                    .insert_keyed(
                        new_order(a, Duration::seconds(60)),
                        claim("same", 1, Duration::hours(24)),
                    )
                    .await
            })
        })
        .collect();
    let mut inserted = Vec::new();
    let mut kept = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            KeyedInsert::Inserted(o) => inserted.push(o),
            KeyedInsert::Taken { kept: o, .. } => kept.push(o),
        }
    }
    assert_eq!(inserted.len(), 1);
    assert!(
        kept.iter().all(|o| *o == inserted[0]),
        "every repeat sees the one order"
    );
    assert_eq!(count(&f, "orders").await, 1);
}

#[tokio::test]
async fn an_expired_key_is_free_again_and_purged_keys_are_gone() {
    let f = fixture().await;
    let expired = f
        .orders
        .insert_keyed(
            new_order(f.a, Duration::seconds(60)),
            claim("old", 1, Duration::seconds(-1)),
        )
        .await
        .unwrap();
    assert!(matches!(expired, KeyedInsert::Inserted(_)));
    let reused = f
        .orders
        .insert_keyed(
            new_order(f.a, Duration::seconds(60)),
            claim("old", 2, Duration::hours(24)),
        )
        .await
        .unwrap();
    assert!(matches!(reused, KeyedInsert::Inserted(_)), "{reused:?}");
    assert_eq!(count(&f, "orders").await, 2);

    f.orders
        .insert_keyed(
            new_order(f.a, Duration::seconds(60)),
            claim("stale", 1, Duration::seconds(-1)),
        )
        .await
        .unwrap();
    assert_eq!(
        f.orders.purge_expired_keys(Utc::now(), 1000).await.unwrap(),
        1
    );
    assert_eq!(count(&f, "idempotency_keys").await, 1, "the live key stays");
    assert_eq!(count(&f, "orders").await, 3, "orders outlive their keys");
}
