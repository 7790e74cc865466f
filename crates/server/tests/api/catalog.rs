//! The catalog over HTTP, on either store: who sees and manages products, searches, stock
//! adjustments that never go below zero, and the ledger that records each one.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn create(app: &TestApp, admin: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, "/products", Some(admin), Some(body))
        .await
}

fn skus(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|p| p["sku"].as_str().expect("a sku"))
        .collect()
}

#[tokio::test]
async fn admins_manage_products_and_anyone_reads_the_active_ones() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (customer, _) = app.customer("shopper@x.io").await;

    let (status, mug) = create(
        &app,
        &admin,
        json!({"sku": "MUG-01", "name": "Enamel mug", "price": 1250, "stock": 40}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{mug}");
    assert_eq!(mug["price"], 1250, "an integer of cents, never a float");
    assert_eq!(mug["currency"], "EUR", "the server's CURRENCY");
    assert_eq!(
        (mug["stock"].as_i64(), mug["active"].as_bool()),
        (Some(40), Some(true))
    );
    assert_eq!(mug["description"], "");
    let mug_id = mug["id"].as_i64().expect("id");
    let (_, lamp) = create(
        &app,
        &admin,
        json!({"sku": "LAMP-7", "name": "Desk lamp", "price": 900, "currency": "JPY"}),
    )
    .await;
    assert_eq!(
        (lamp["currency"].as_str(), lamp["stock"].as_i64()),
        (Some("JPY"), Some(0))
    );
    let lamp_id = lamp["id"].as_i64().expect("id");

    let (status, body) = create(
        &app,
        &admin,
        json!({"sku": "mug-01", "name": "Again", "price": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "a product with this sku exists already");
    for (bad, field) in [
        (json!({"sku": "has space", "name": "X", "price": 1}), "sku"),
        (json!({"sku": "OK-1", "name": " ", "price": 1}), "name"),
        (json!({"sku": "OK-1", "name": "X", "price": -1}), "price"),
        (
            json!({"sku": "OK-1", "name": "X", "price": 1, "currency": "eur"}),
            "currency",
        ),
        (
            json!({"sku": "OK-1", "name": "X", "price": 1, "stock": -3}),
            "stock",
        ),
        (json!({"sku": "OK-1", "name": "X", "price": 1.5}), "price"),
        (json!({"sku": "OK-1", "name": "X", "price": 1e20}), "price"),
        (
            json!({"sku": "OK-1", "name": "X", "price": 1, "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, body) = create(&app, &admin, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        let message = body["error"].as_str().expect("a message");
        assert!(message.contains(field), "{bad}: {message}");
    }
    // JSON has one kind of number: 990.0 is the whole number 990.
    let (status, cup) = create(
        &app,
        &admin,
        json!({"sku": "CUP", "name": "Cup", "price": 990.0}),
    )
    .await;
    assert_eq!(
        (status, cup["price"].as_i64()),
        (StatusCode::CREATED, Some(990)),
        "{cup}"
    );
    let (status, _) = create(
        &app,
        &customer,
        json!({"sku": "C-1", "name": "X", "price": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The lamp goes out of sale: only admins see it from now on.
    let (status, lamp) = app
        .call(
            Method::PATCH,
            &format!("/products/{lamp_id}"),
            Some(&admin),
            Some(json!({"active": false, "price": 950})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{lamp}");
    assert_eq!(
        (lamp["active"].as_bool(), lamp["price"].as_i64()),
        (Some(false), Some(950))
    );
    let (status, listed) = app.call(Method::GET, "/products", None, None).await;
    assert_eq!(status, StatusCode::OK, "no token needed");
    assert_eq!(skus(&listed), ["CUP", "MUG-01"], "{listed}");
    let lamp_path = format!("/products/{lamp_id}");
    for token in [None, Some(customer.as_str())] {
        let (status, _) = app.call(Method::GET, &lamp_path, token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = app.call(Method::GET, &lamp_path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/products?active=any", None, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, everything) = app
        .call(Method::GET, "/products?active=any", Some(&admin), None)
        .await;
    assert_eq!(
        skus(&everything),
        ["CUP", "LAMP-7", "MUG-01"],
        "newest first"
    );
    let (status, _) = app
        .call(Method::GET, "/products", Some("not-a-token"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a bad token is refused, not ignored"
    );

    // Searches: a substring of a name or sku, or a prefix of a sku.
    for (q, expected) in [
        ("enamel", vec!["MUG-01"]),
        ("g-0", vec!["MUG-01"]),
        ("mu", vec!["MUG-01"]),
        ("ug", vec![]),
    ] {
        let (status, found) = app
            .call(Method::GET, &format!("/products?q={q}"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(skus(&found), expected, "q={q}");
    }
    let (_, product) = app
        .call(Method::GET, &format!("/products/{mug_id}"), None, None)
        .await;
    assert_eq!(product["name"], "Enamel mug");
}

#[tokio::test]
async fn stock_never_goes_below_zero_and_every_move_is_in_the_ledger() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, mug) = create(
        &app,
        &admin,
        json!({"sku": "MUG-01", "name": "Enamel mug", "price": 1250, "stock": 40}),
    )
    .await;
    let id = mug["id"].as_i64().expect("id");
    let stock = format!("/products/{id}/stock");

    let (status, body) = app
        .call(
            Method::POST,
            &stock,
            Some(&admin),
            Some(json!({"delta": -41, "reason": "broken"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "not enough stock for MUG-01: 40 left");
    let (status, body) = app
        .call(
            Method::POST,
            &stock,
            Some(&admin),
            Some(json!({"delta": 0, "reason": "none"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("delta")),
        "{body}"
    );
    let (status, body) = app
        .call(
            Method::POST,
            &stock,
            Some(&admin),
            Some(json!({"delta": 999_999_999, "reason": "typo"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "the stock of MUG-01 would exceed 1000000000");
    let (status, after) = app
        .call(
            Method::POST,
            &stock,
            Some(&admin),
            Some(json!({"delta": -15, "reason": "broken in transit"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["stock"], 25);
    let (status, _) = app
        .call(
            Method::POST,
            "/products/999999/stock",
            Some(&admin),
            Some(json!({"delta": 1, "reason": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, ledger) = app
        .call(
            Method::GET,
            &format!("/products/{id}/stock-movements"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ledger}");
    let ledger = ledger.as_array().expect("an array");
    assert_eq!(ledger.len(), 2, "the refusals wrote nothing: {ledger:?}");
    assert_eq!(ledger[0]["delta"], -15);
    assert_eq!(ledger[0]["stock_after"], 25);
    assert_eq!(ledger[0]["reason"], "adjustment");
    assert_eq!(ledger[0]["note"], "broken in transit");
    assert_eq!(ledger[0]["actor"], "admin");
    assert_eq!(ledger[0]["order_id"], Value::Null);
    assert_eq!(ledger[1]["delta"], 40, "the stock it was created with");
    assert_eq!(ledger[1]["stock_after"], 40);
    let sum: i64 = ledger
        .iter()
        .map(|m| m["delta"].as_i64().expect("delta"))
        .sum();
    assert_eq!(sum, 25, "the ledger sums to the stock");
}
