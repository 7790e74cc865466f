//! Orders with lines over HTTP, on either store: priced by the server from the catalog,
//! stock taken with the order and given back by a cancel, every refusal naming its field
//! and changing nothing, the new fields in every rendering of an order.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) async fn product(app: &TestApp, admin: &str, sku: &str, price: i64, stock: i64) -> i64 {
    let (status, body) = app
        .call(
            Method::POST,
            "/products",
            Some(admin),
            Some(
                json!({"sku": sku, "name": format!("{sku} name"), "price": price, "stock": stock}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("id")
}

pub(crate) async fn stock(app: &TestApp, id: i64) -> i64 {
    let (status, body) = app
        .call(Method::GET, &format!("/products/{id}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["stock"].as_i64().expect("stock")
}

pub(crate) async fn place(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, "/orders", Some(token), Some(body))
        .await
}

pub(crate) fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "line2": "",
           "city": "London", "region": "", "postal_code": "SW1Y 4JH", "country": "GB",
           "phone": "+442079460000"})
}

#[tokio::test]
async fn an_order_with_lines_is_priced_by_the_server_and_takes_its_stock_until_cancelled() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ada, ada_id) = app.customer("ada@x.io").await;
    let mug = product(&app, &admin, "MUG-01", 1250, 5).await;
    let lamp = product(&app, &admin, "LAMP-7", 4999, 1).await;

    let (status, order) = place(
        &app,
        &ada,
        json!({"lines": [{"product_id": mug, "quantity": 2, "unit_price": 1},
                         {"sku": "lamp-7", "quantity": 1}],
               "shipping_address": address(), "note": "Leave it with the porter"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["customer_id"], ada_id);
    assert_eq!(order["currency"], "EUR");
    assert_eq!(
        order["total"],
        2 * 1250 + 4999,
        "prices in the body are ignored"
    );
    assert_eq!(
        order["item_description"],
        "2 × MUG-01 name, 1 × LAMP-7 name"
    );
    assert_eq!(
        order["lines"],
        json!([
            {"product_id": mug, "sku": "MUG-01", "name": "MUG-01 name", "quantity": 2,
             "unit_price": 1250, "line_total": 2500},
            {"product_id": lamp, "sku": "LAMP-7", "name": "LAMP-7 name", "quantity": 1,
             "unit_price": 4999, "line_total": 4999},
        ])
    );
    assert_eq!(order["shipping_address"], address());
    assert_eq!(order["note"], "Leave it with the porter");
    assert_eq!((stock(&app, mug).await, stock(&app, lamp).await), (3, 0));

    let id = order["id"].as_i64().expect("id");
    let (_, read) = app.order(&ada, id).await;
    assert_eq!(read, order, "a read renders the order as its creation did");
    let (_, listed) = app.call(Method::GET, "/my-orders", Some(&ada), None).await;
    assert_eq!(listed[0], order, "and so does a list");

    // A price change later does not change what was sold.
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/products/{mug}"),
            Some(&admin),
            Some(json!({"price": 9999})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = app.order(&ada, id).await;
    assert_eq!(read["lines"][0]["unit_price"], 1250);

    let cancelled = app.cancel(&ada, id).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["lines"], order["lines"]);
    assert_eq!((stock(&app, mug).await, stock(&app, lamp).await), (5, 1));

    let (status, ledger) = app
        .call(
            Method::GET,
            &format!("/products/{mug}/stock-movements"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ledger}");
    let reasons: Vec<(&str, i64, Option<i64>)> = ledger
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            (
                m["reason"].as_str().expect("reason"),
                m["delta"].as_i64().expect("delta"),
                m["order_id"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("order_cancel", 2, Some(id)),
            ("order", -2, Some(id)),
            ("adjustment", 5, None)
        ],
        "newest first"
    );

    // An admin's override out of `cancelled` takes the units again.
    let reinstated = app.set_status(&admin, id, "created").await;
    assert_eq!(reinstated["status"], "created");
    assert_eq!((stock(&app, mug).await, stock(&app, lamp).await), (3, 0));
}

#[tokio::test]
async fn a_shortage_is_a_409_that_names_the_product_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ada, _) = app.customer("ada@x.io").await;
    let mug = product(&app, &admin, "MUG-01", 1250, 5).await;
    let lamp = product(&app, &admin, "LAMP-7", 4999, 1).await;
    let (status, body) = place(
        &app,
        &ada,
        json!({"lines": [{"product_id": mug, "quantity": 1}, {"product_id": lamp, "quantity": 2}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body,
        json!({"error": "not enough stock for LAMP-7: 1 left"})
    );
    assert_eq!((stock(&app, mug).await, stock(&app, lamp).await), (5, 1));
    let (_, mine) = app.call(Method::GET, "/my-orders", Some(&ada), None).await;
    assert_eq!(mine, json!([]), "no order was stored");

    // Cancelled elsewhere, the units come back, and the same request now succeeds.
    let (_, other) = place(
        &app,
        &admin,
        json!({"lines": [{"product_id": lamp, "quantity": 1}]}),
    )
    .await;
    let (status, _) = place(
        &app,
        &ada,
        json!({"lines": [{"product_id": lamp, "quantity": 1}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "the last lamp is taken");
    app.set_status(&admin, other["id"].as_i64().expect("id"), "cancelled")
        .await;
    let (status, body) = place(
        &app,
        &ada,
        json!({"lines": [{"product_id": lamp, "quantity": 1}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn every_refusal_names_its_field_and_stores_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ada, _) = app.customer("ada@x.io").await;
    let mug = product(&app, &admin, "MUG-01", 1250, 5).await;
    let (status, _) = app
        .call(
            Method::POST,
            "/products",
            Some(&admin),
            Some(
                json!({"sku": "YEN-1", "name": "Fan", "price": 900, "currency": "JPY", "stock": 3}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let line = |q: Value| json!({"product_id": mug, "quantity": q});
    let mut in_uk = address();
    in_uk["country"] = json!("UK");
    let cases = [
        (json!({"lines": []}), "lines must hold 1–100 lines"),
        (
            json!({"lines": [line(json!(0))]}),
            "lines[0].quantity must be 1–1000",
        ),
        (
            json!({"lines": [line(json!(1001))]}),
            "lines[0].quantity must be 1–1000",
        ),
        (
            json!({"lines": [line(json!(1)), {"sku": "MUG-01", "product_id": mug, "quantity": 1}]}),
            "lines[1] must name its product by product_id or by sku",
        ),
        (
            json!({"lines": [line(json!(1)), {"quantity": 1}]}),
            "lines[1] must name its product",
        ),
        (
            json!({"lines": [line(json!(1)), {"sku": "NOPE", "quantity": 1}]}),
            "lines[1]: no such product",
        ),
        (
            json!({"lines": [line(json!(1)), {"sku": "mug-01", "quantity": 1}]}),
            "lines[1]: MUG-01 is already on another line",
        ),
        (
            json!({"lines": [line(json!(1)), {"sku": "YEN-1", "quantity": 1}]}),
            "lines[1]: YEN-1 is priced in JPY",
        ),
        (
            json!({"lines": [line(json!(1))], "item_description": "Laptop"}),
            "an order has lines or an item_description, not both",
        ),
        (
            json!({}),
            "lines (or, for a free-text order, item_description) is required",
        ),
        (
            json!({"lines": [line(json!(1))], "shipping_address": in_uk}),
            "shipping_address.country must be an ISO 3166-1 alpha-2 code",
        ),
        (
            json!({"lines": [line(json!(1))], "note": "x".repeat(1001)}),
            "note must be",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = place(&app, &ada, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        let error = answer["error"].as_str().expect("an error");
        assert!(error.starts_with(expected), "{body} → {error}");
    }
    assert_eq!(stock(&app, mug).await, 5, "no refusal took anything");
    let (_, mine) = app.call(Method::GET, "/my-orders", Some(&ada), None).await;
    assert_eq!(mine, json!([]));
}

#[tokio::test]
async fn free_text_orders_keep_the_v1_shape_and_a_catalog_only_server_refuses_them() {
    let app = spawn_app().await;
    let (ada, _) = app.customer("ada@x.io").await;
    let order = app.create_order(&ada, "Laptop").await;
    assert_eq!(
        (&order["lines"], &order["currency"], &order["total"]),
        (&json!([]), &Value::Null, &Value::Null)
    );
    assert_eq!(
        (&order["shipping_address"], &order["note"]),
        (&Value::Null, &Value::Null)
    );

    let strict = spawn_configured(60.0, |s| s.catalog.free_text_orders = false).await;
    let (ada, _) = strict.customer("ada@x.io").await;
    let (status, body) = place(&strict, &ada, json!({"item_description": "Laptop"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("lines are required")),
        "{body}"
    );
}

#[tokio::test]
async fn an_idempotency_key_covers_the_lines_body_and_a_replay_takes_no_more_stock() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ada, _) = app.customer("ada@x.io").await;
    let mug = product(&app, &admin, "MUG-01", 1250, 3).await;
    let keyed = |body: Value| {
        app.client
            .post(format!("{}/orders", app.base))
            .bearer_auth(&ada)
            .header("Idempotency-Key", "basket-1")
            .json(&body)
            .send()
    };
    let body = json!({"lines": [{"product_id": mug, "quantity": 2}], "note": "gift"});
    let first = keyed(body.clone()).await.expect("sent");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("json");
    let again = keyed(body).await.expect("sent");
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again, first, "the kept answer, lines and all");
    assert_eq!(stock(&app, mug).await, 1, "taken once");
    let other = keyed(json!({"lines": [{"product_id": mug, "quantity": 1}], "note": "gift"}))
        .await
        .expect("sent");
    assert_eq!(
        other.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "another quantity is another request"
    );
}
