//! Keys of bulk requests: one claim runs, repeats see it running or answered, and a claim
//! whose lease ran out is taken over only by the same request.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use trachios_domain::{BulkClaim, BulkKeyClaim, IdempotencyKey, RequestFingerprint};

use crate::{customer, Ports};

/// Nanoseconds, as the service's clock gives them: the stores keep microseconds, and a
/// claim named by its time must still be found by it.
fn now() -> DateTime<Utc> {
    Utc::now()
}

fn claim(key: &str, fingerprint: u8, at: DateTime<Utc>) -> BulkClaim {
    BulkClaim {
        key: IdempotencyKey::parse(key).unwrap(),
        fingerprint: RequestFingerprint([fingerprint; 32]),
        claimed_at: at,
        lease_until: at + Duration::minutes(2),
        expires_at: at + Duration::hours(24),
    }
}

pub async fn a_claimed_key_is_seen_running_then_answered_and_is_per_user(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let b = customer(ports.users.as_ref(), "b@x.io").await;
    let orders = ports.orders.as_ref();
    let first = claim("k", 1, now());
    assert_eq!(
        orders.claim_bulk_key(a, &first).await.unwrap(),
        BulkKeyClaim::Claimed
    );
    for fingerprint in [1, 2] {
        assert_eq!(
            orders
                .claim_bulk_key(a, &claim("k", fingerprint, now()))
                .await
                .unwrap(),
            BulkKeyClaim::Running {
                fingerprint: RequestFingerprint([1; 32])
            },
            "a repeat while the first runs, with fingerprint {fingerprint}"
        );
    }
    orders
        .keep_bulk_answer(a, &first, r#"{"results":[]}"#)
        .await
        .unwrap();
    assert_eq!(
        orders
            .claim_bulk_key(a, &claim("k", 1, now()))
            .await
            .unwrap(),
        BulkKeyClaim::Answered {
            fingerprint: RequestFingerprint([1; 32]),
            response: r#"{"results":[]}"#.into()
        }
    );
    assert_eq!(
        orders
            .claim_bulk_key(b, &claim("k", 2, now()))
            .await
            .unwrap(),
        BulkKeyClaim::Claimed,
        "keys are per user"
    );
}

pub async fn twenty_concurrent_claims_of_one_key_leave_one_claimed(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let at = now();
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let orders = Arc::clone(&ports.orders);
            tokio::spawn(async move { orders.claim_bulk_key(a, &claim("same", 1, at)).await })
        })
        .collect();
    let mut claimed = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            BulkKeyClaim::Claimed => claimed += 1,
            BulkKeyClaim::Running { fingerprint } => {
                assert_eq!(fingerprint, RequestFingerprint([1; 32]))
            }
            other => panic!("nothing was answered yet: {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}

pub async fn a_lapsed_lease_is_taken_over_by_the_same_request_only(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let long_ago = now() - Duration::minutes(10);
    let lapsed = claim("k", 1, long_ago);
    assert_eq!(
        orders.claim_bulk_key(a, &lapsed).await.unwrap(),
        BulkKeyClaim::Claimed
    );
    assert_eq!(
        orders
            .claim_bulk_key(a, &claim("k", 2, now()))
            .await
            .unwrap(),
        BulkKeyClaim::Running {
            fingerprint: RequestFingerprint([1; 32])
        },
        "another request never takes a key over"
    );
    let takeover = claim("k", 1, now());
    assert_eq!(
        orders.claim_bulk_key(a, &takeover).await.unwrap(),
        BulkKeyClaim::Claimed
    );

    // The first claimant comes back late: its answer and its release are no longer the key's.
    orders.keep_bulk_answer(a, &lapsed, "late").await.unwrap();
    orders.release_bulk_key(a, &lapsed).await.unwrap();
    assert_eq!(
        orders
            .claim_bulk_key(a, &claim("k", 1, now()))
            .await
            .unwrap(),
        BulkKeyClaim::Running {
            fingerprint: RequestFingerprint([1; 32])
        }
    );
    orders.keep_bulk_answer(a, &takeover, "kept").await.unwrap();
    assert!(matches!(
        orders.claim_bulk_key(a, &claim("k", 1, now())).await.unwrap(),
        BulkKeyClaim::Answered { response, .. } if response == "kept"
    ));
}

pub async fn a_released_or_expired_key_is_free_and_expired_keys_are_purged(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let failed = claim("k", 1, now());
    orders.claim_bulk_key(a, &failed).await.unwrap();
    orders.release_bulk_key(a, &failed).await.unwrap();
    assert_eq!(
        orders
            .claim_bulk_key(a, &claim("k", 2, now()))
            .await
            .unwrap(),
        BulkKeyClaim::Claimed,
        "a released key is free for any request"
    );

    let yesterday = now() - Duration::hours(25);
    let old = claim("old", 1, yesterday);
    orders.claim_bulk_key(a, &old).await.unwrap();
    orders
        .keep_bulk_answer(a, &old, "old answer")
        .await
        .unwrap();
    assert_eq!(
        orders
            .claim_bulk_key(a, &claim("old", 2, now()))
            .await
            .unwrap(),
        BulkKeyClaim::Claimed,
        "an expired key is free for any request"
    );

    orders
        .claim_bulk_key(a, &claim("stale", 1, yesterday))
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
    assert!(
        matches!(
            orders
                .claim_bulk_key(a, &claim("k", 1, now()))
                .await
                .unwrap(),
            BulkKeyClaim::Running { .. }
        ),
        "live keys stay"
    );
}
