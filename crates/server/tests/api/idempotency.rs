//! `Idempotency-Key` on `POST /orders`.

use reqwest::header::HeaderValue;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn post(
    app: &TestApp,
    token: &str,
    key: HeaderValue,
    body: Value,
) -> (StatusCode, bool, Value) {
    let res = app
        .client
        .post(format!("{}/orders", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    assert!(
        replayed.as_deref().is_none_or(|v| v == "true"),
        "{replayed:?}"
    );
    (
        res.status(),
        replayed.is_some(),
        res.json().await.expect("JSON"),
    )
}

fn key(raw: &str) -> HeaderValue {
    HeaderValue::from_str(raw).unwrap()
}

async fn my_orders(app: &TestApp, token: &str) -> usize {
    let (_, body) = app
        .call(reqwest::Method::GET, "/my-orders", Some(token), None)
        .await;
    body.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_repeat_gets_the_kept_answer_and_creates_nothing() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    let body = json!({"item_description": "Desk"});
    let (status, replayed, first) = post(&app, &token, key("k-1"), body.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");

    // The order moves on; the replay still shows the answer the first request got.
    let admin = app.admin().await;
    let id = first["id"].as_i64().unwrap();
    let (status, _) = app
        .call(
            reqwest::Method::PUT,
            &format!("/orders/{id}/status"),
            Some(&admin),
            Some(json!({"status": "dispatched"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Whitespace and unknown fields do not make it another request.
    let same = json!({"item_description": "Desk", "gift_wrap": "ignored"});
    let (status, replayed, again) = post(&app, &token, key("k-1"), same).await;
    assert_eq!(
        (status, replayed, &again),
        (StatusCode::CREATED, true, &first)
    );
    assert_eq!(my_orders(&app, &token).await, 1);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_422_and_keys_are_per_user() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    let (other, _) = app.customer("other@x.io").await;
    post(
        &app,
        &token,
        key("k-1"),
        json!({"item_description": "Desk"}),
    )
    .await;
    let (status, _, body) = post(
        &app,
        &token,
        key("k-1"),
        json!({"item_description": "Chair"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("Idempotency-Key"),
        "{body}"
    );
    assert_eq!(my_orders(&app, &token).await, 1);

    let (status, replayed, theirs) = post(
        &app,
        &other,
        key("k-1"),
        json!({"item_description": "Chair"}),
    )
    .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{theirs}");
    assert_eq!(my_orders(&app, &other).await, 1);
}

#[tokio::test]
async fn a_malformed_key_is_a_400_naming_the_header_and_creates_nothing() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    let long = "k".repeat(256);
    let bad = [
        key(""),
        key(&long),
        key("tab\there"),
        HeaderValue::from_bytes(b"caf\xe9").unwrap(),
    ];
    for value in bad {
        let (status, _, body) = post(
            &app,
            &token,
            value.clone(),
            json!({"item_description": "Desk"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{value:?}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("Idempotency-Key"),
            "{body}"
        );
    }
    assert_eq!(my_orders(&app, &token).await, 0);
    let (status, _, _) = post(
        &app,
        &token,
        key(&"k".repeat(255)),
        json!({"item_description": "Desk"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "255 characters are allowed");
}
