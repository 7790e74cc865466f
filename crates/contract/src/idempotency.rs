//! Orders created under idempotency keys: one order per key, whatever the interleaving.

use std::sync::Arc;

use chrono::{Duration, Utc};
use trachios_domain::ports::OrderRepository;
use trachios_domain::{IdempotencyKey, KeyClaim, KeyedInsert, OrderFilter, RequestFingerprint};

use crate::{customer, new_order, Ports};

fn claim(key: &str, fingerprint: u8, lifetime: Duration) -> KeyClaim {
    KeyClaim {
        key: IdempotencyKey::parse(key).unwrap(),
        fingerprint: RequestFingerprint([fingerprint; 32]),
        expires_at: Utc::now() + lifetime,
    }
}

async fn stored_orders(orders: &dyn OrderRepository) -> usize {
    orders
        .list(&OrderFilter::default(), None, 1000)
        .await
        .unwrap()
        .len()
}

pub async fn a_taken_key_stores_nothing_and_returns_the_first_answer(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let day = Duration::hours(24);
    let KeyedInsert::Inserted(first) = orders
        .insert_keyed(new_order(a, Duration::seconds(60)), claim("k", 1, day))
        .await
        .unwrap()
    else {
        panic!("a free key inserts");
    };
    assert_eq!(
        orders.find_by_id(first.id).await.unwrap().as_ref(),
        Some(&first)
    );
    let again = orders
        .insert_keyed(new_order(a, Duration::seconds(60)), claim("k", 2, day))
        .await
        .unwrap();
    assert_eq!(
        again,
        KeyedInsert::Taken {
            fingerprint: RequestFingerprint([1; 32]),
            kept: first.clone(),
        }
    );
    assert_eq!(stored_orders(orders).await, 1);
    assert_eq!(
        orders.history(first.id).await.unwrap().len(),
        1,
        "one event"
    );

    let b = customer(ports.users.as_ref(), "b@x.io").await;
    let theirs = orders
        .insert_keyed(new_order(b, Duration::seconds(60)), claim("k", 1, day))
        .await
        .unwrap();
    assert!(
        matches!(theirs, KeyedInsert::Inserted(o) if o.customer_id == b),
        "keys are per user"
    );
}

pub async fn twenty_concurrent_inserts_under_one_key_store_one_order(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let orders = Arc::clone(&ports.orders);
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
    assert_eq!(stored_orders(ports.orders.as_ref()).await, 1);
}

pub async fn an_expired_key_is_free_again_and_purged_keys_are_gone(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let expired = orders
        .insert_keyed(
            new_order(a, Duration::seconds(60)),
            claim("old", 1, Duration::seconds(-1)),
        )
        .await
        .unwrap();
    assert!(matches!(expired, KeyedInsert::Inserted(_)));
    let reused = orders
        .insert_keyed(
            new_order(a, Duration::seconds(60)),
            claim("old", 2, Duration::hours(24)),
        )
        .await
        .unwrap();
    let KeyedInsert::Inserted(reused) = reused else {
        panic!("an expired key is free: {reused:?}");
    };
    assert_eq!(stored_orders(orders).await, 2);

    orders
        .insert_keyed(
            new_order(a, Duration::seconds(60)),
            claim("stale", 1, Duration::seconds(-1)),
        )
        .await
        .unwrap();
    assert_eq!(
        orders.purge_expired_keys(Utc::now(), 1000).await.unwrap(),
        1
    );
    assert_eq!(
        orders.purge_expired_keys(Utc::now(), 1000).await.unwrap(),
        0
    );
    let live = orders
        .insert_keyed(
            new_order(a, Duration::seconds(60)),
            claim("old", 2, Duration::hours(24)),
        )
        .await
        .unwrap();
    assert!(
        matches!(&live, KeyedInsert::Taken { kept, .. } if *kept == reused),
        "the live key stays: {live:?}"
    );
    assert_eq!(stored_orders(orders).await, 3, "orders outlive their keys");
}

pub async fn a_live_claim_is_found_by_its_key_and_an_expired_or_unknown_one_is_not(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let b = customer(ports.users.as_ref(), "b@x.io").await;
    let orders = ports.orders.as_ref();
    let KeyedInsert::Inserted(first) = orders
        .insert_keyed(
            new_order(a, Duration::seconds(60)),
            claim("k", 1, Duration::hours(24)),
        )
        .await
        .unwrap()
    else {
        panic!("a free key inserts");
    };
    let key = |raw: &str| IdempotencyKey::parse(raw).unwrap();
    assert_eq!(
        orders.find_claim(a, &key("k"), Utc::now()).await.unwrap(),
        Some(KeyedInsert::Taken {
            fingerprint: RequestFingerprint([1; 32]),
            kept: first,
        })
    );
    assert_eq!(
        orders
            .find_claim(a, &key("other"), Utc::now())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        orders.find_claim(b, &key("k"), Utc::now()).await.unwrap(),
        None,
        "keys are per customer"
    );
    assert_eq!(
        orders
            .find_claim(a, &key("k"), Utc::now() + Duration::hours(25))
            .await
            .unwrap(),
        None,
        "an expired claim holds nothing"
    );
}
