//! Order history and live order streams on one process.

use std::time::Duration;

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::sse::{EventStream, Sse};

const WAIT: Duration = Duration::from_secs(5);

/// A server whose idle streams hear a keep-alive every `keep_alive` seconds.
async fn spawn_streaming(step_seconds: f64, keep_alive: f64) -> TestApp {
    spawn_configured(step_seconds, |s| s.streams.keep_alive_seconds = keep_alive).await
}

#[tokio::test]
async fn history_lists_every_change_oldest_first_for_the_owner_and_admins() {
    let app = spawn_app_with_step(0.1).await;
    let (token, customer_id) = app.customer("jo@x.io").await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    assert!(
        eventually(WAIT, || async {
            app.order(&token, id).await.1["status"] == "delivered"
        })
        .await,
        "the order is delivered by itself"
    );
    let (status, history) = app
        .call(
            Method::GET,
            &format!("/orders/{id}/history"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let entries = history.as_array().expect("an array");
    let steps: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e["from_status"].clone(),
                e["to_status"].clone(),
                e["actor"].clone(),
                e["actor_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (
                Value::Null,
                json!("created"),
                json!("customer"),
                json!(customer_id)
            ),
            (
                json!("created"),
                json!("dispatched"),
                json!("system"),
                Value::Null
            ),
            (
                json!("dispatched"),
                json!("in_transit"),
                json!("system"),
                Value::Null
            ),
            (
                json!("in_transit"),
                json!("delivered"),
                json!("system"),
                Value::Null
            ),
        ]
    );
    assert!(entries.iter().all(|e| e["order_id"] == json!(id)));
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    assert!(entries.iter().all(|e| e["created_at"].is_string()));

    let admin = app.admin().await;
    let (status, seen) = app
        .call(
            Method::GET,
            &format!("/orders/{id}/history"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((status, seen), (StatusCode::OK, history));
    let (other, _) = app.customer("other@x.io").await;
    for (who, path) in [
        (&other, format!("/orders/{id}/history")),
        (&admin, format!("/orders/{}/history", id + 1000)),
    ] {
        let (status, body) = app.call(Method::GET, &path, Some(who), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, body) = app
        .call(Method::GET, "/orders/abc/history", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn an_order_stream_sends_the_order_then_each_change_and_ends_after_a_terminal_one() {
    let app = spawn_streaming(3600.0, 15.0).await;
    let (token, _) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    let created = app.create_order(&token, "Desk").await;
    let id = created["id"].as_i64().unwrap();
    let mut stream = EventStream::open(&app, &format!("/orders/{id}/stream"), &token, None).await;
    assert_eq!(
        stream.next_change(WAIT).await,
        Some((1, Value::Null, created)),
        "the order as it is, no change"
    );

    let (status, edited) = app
        .call(
            Method::PATCH,
            &format!("/orders/{id}"),
            Some(&token),
            Some(json!({"note": "Fragile"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        stream.next_change(WAIT).await,
        Some((2, json!("edited"), edited))
    );
    let dispatched = app.set_status(&admin, id, "dispatched").await;
    assert_eq!(
        stream.next_change(WAIT).await,
        Some((3, json!("status_changed"), dispatched))
    );
    let cancelled = app.cancel(&token, id).await;
    assert_eq!(stream.next_order(WAIT).await, Some((4, cancelled)));
    assert!(
        stream.ended(WAIT).await,
        "a terminal status ends the stream"
    );
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_resumes_after_what_the_client_saw() {
    let app = spawn_streaming(3600.0, 15.0).await;
    let (token, _) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    let dispatched = app.set_status(&admin, id, "dispatched").await;
    let path = format!("/orders/{id}/stream");

    let mut behind = EventStream::open(&app, &path, &token, Some("1")).await;
    assert_eq!(behind.next_order(WAIT).await, Some((2, dispatched)));

    let mut current = EventStream::open(&app, &path, &token, Some("2")).await;
    let in_transit = app.set_status(&admin, id, "in_transit").await;
    assert_eq!(
        current.next_order(WAIT).await,
        Some((3, in_transit)),
        "the version the client has is not sent again"
    );

    let cancelled = app.cancel(&token, id).await;
    assert_eq!(current.next_order(WAIT).await, Some((4, cancelled)));
    let mut finished = EventStream::open(&app, &path, &token, Some("4")).await;
    assert!(
        finished.ended(WAIT).await,
        "a terminal order the client has seen ends at once"
    );

    let res = EventStream::request(&app, &path, &token, Some("four")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("Last-Event-ID"),
        "{body}"
    );
}

#[tokio::test]
async fn streams_are_for_those_who_may_see_what_they_carry() {
    let app = spawn_streaming(3600.0, 15.0).await;
    let (owner, _) = app.customer("jo@x.io").await;
    let (other, _) = app.customer("other@x.io").await;
    let id = app.create_order(&owner, "Desk").await["id"]
        .as_i64()
        .unwrap();
    let cases = [
        (
            format!("/orders/{id}/stream"),
            other.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/orders/{}/stream", id + 1000),
            owner.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/orders/stream".to_owned(),
            owner.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (
            "/my-orders/stream".to_owned(),
            "not-a-token",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/orders/0/stream".to_owned(),
            owner.as_str(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, token, expected) in cases {
        let res = EventStream::request(&app, &path, token, None).await;
        assert_eq!(res.status(), expected, "{path}");
        let body: Value = res.json().await.expect("a JSON error");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    // Admins watch any order.
    let admin = app.admin().await;
    let mut watched = EventStream::open(&app, &format!("/orders/{id}/stream"), &admin, None).await;
    let (version, order) = watched.next_order(WAIT).await.expect("the order now");
    assert_eq!((version, order["id"].as_i64()), (1, Some(id)));
}

#[tokio::test]
async fn my_orders_stream_carries_every_change_of_the_callers_orders_only() {
    let app = spawn_streaming(3600.0, 15.0).await;
    let (token, _) = app.customer("jo@x.io").await;
    let (other, _) = app.customer("other@x.io").await;
    let admin = app.admin().await;
    let mut mine = EventStream::open(&app, "/my-orders/stream", &token, None).await;
    let mut all = EventStream::open(&app, "/orders/stream", &admin, None).await;

    let theirs = app.create_order(&other, "Not yours").await;
    let first = app.create_order(&token, "Desk").await;
    let second = app.create_order(&token, "Chair").await;
    let cancelled = app.cancel(&token, first["id"].as_i64().unwrap()).await;
    for (version, kind, order) in [
        (1, "created", first),
        (1, "created", second),
        (2, "status_changed", cancelled.clone()),
    ] {
        assert_eq!(
            mine.next_change(WAIT).await,
            Some((version, json!(kind), order))
        );
    }
    assert_eq!(all.next_order(WAIT).await, Some((1, theirs)));
    // The admin's stream has all four changes; the customer's never saw the other's order.
    for _ in 0..2 {
        all.next_order(WAIT).await.expect("an order event");
    }
    assert_eq!(all.next_order(WAIT).await, Some((2, cancelled)));
}

#[tokio::test]
async fn an_idle_stream_hears_keep_alive_comments() {
    let app = spawn_streaming(3600.0, 0.2).await;
    let (token, _) = app.customer("jo@x.io").await;
    let mut stream = EventStream::open(&app, "/my-orders/stream", &token, None).await;
    for _ in 0..3 {
        assert_eq!(
            stream.next(Duration::from_secs(2)).await,
            Some(Sse::Comment("keep-alive".into()))
        );
    }
}

#[tokio::test]
async fn a_user_holds_at_most_streams_per_user_streams() {
    let app = spawn_configured(3600.0, |s| {
        s.limits.streams_per_user = 2;
        s.streams.keep_alive_seconds = 0.2;
    })
    .await;
    let (token, _) = app.customer("jo@x.io").await;
    let (other, _) = app.customer("other@x.io").await;
    let first = EventStream::open(&app, "/my-orders/stream", &token, None).await;
    let _second = EventStream::open(&app, "/my-orders/stream", &token, None).await;

    let refused = EventStream::request(&app, "/my-orders/stream", &token, None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    let _theirs = EventStream::open(&app, "/my-orders/stream", &other, None).await;

    // A stream whose client left frees its slot (noticed at the next keep-alive at latest).
    drop(first);
    assert!(
        eventually(WAIT, || async {
            EventStream::request(&app, "/my-orders/stream", &token, None)
                .await
                .status()
                == StatusCode::OK
        })
        .await,
        "a closed stream's slot is freed"
    );
}

#[tokio::test]
async fn a_stream_ends_once_its_token_no_longer_grants_it() {
    let app = spawn_streaming(3600.0, 0.3).await;
    let (token, _) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    // A second admin, to be demoted while watching every order.
    let (promoted, promoted_id) = app.customer("second-admin@x.io").await;
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/users/{promoted_id}"),
            Some(&admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut watching_all = EventStream::open(&app, "/orders/stream", &promoted, None).await;
    let mut mine = EventStream::open(&app, "/my-orders/stream", &token, None).await;

    let (status, _) = app.call(Method::POST, "/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/users/{promoted_id}"),
            Some(&admin),
            Some(json!({"role": "customer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        mine.ended(WAIT).await,
        "a logged-out token's stream ends within 5 s"
    );
    assert!(
        watching_all.ended(WAIT).await,
        "a demoted admin's stream of every order ends within 5 s"
    );
}
