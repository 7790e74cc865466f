//! Edits of an order over HTTP, on either store: new lines replace the old ones with stock
//! moving by the difference, address and note change or go, every refusal changes nothing,
//! and the edit is in the history and announced to the endpoints that asked for it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::order_lines::{address, place, product, stock};
use crate::receiver::Receiver;
use crate::webhooks::subscribe;

async fn edit(app: &TestApp, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    app.call(
        Method::PATCH,
        &format!("/orders/{id}"),
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn an_edit_replaces_lines_moves_stock_by_the_difference_and_is_recorded_and_announced() {
    let app = spawn_configured(3600.0, |s| {
        s.webhooks.allow_private = true;
        s.webhooks.retry_base_seconds = 0.05;
    })
    .await;
    let admin = app.admin().await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    subscribe(
        &app,
        &admin,
        &receiver.url,
        Some(&["order.created", "order.updated"]),
    )
    .await;
    let (ada, _) = app.customer("ada@x.io").await;
    let mug = product(&app, &admin, "MUG-01", 1250, 5).await;
    let lamp = product(&app, &admin, "LAMP-7", 4999, 1).await;
    let bowl = product(&app, &admin, "BOWL-2", 800, 4).await;
    let (status, placed) = place(
        &app,
        &ada,
        json!({"lines": [{"product_id": mug, "quantity": 2}, {"sku": "LAMP-7", "quantity": 1}],
               "shipping_address": address()}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let id = placed["id"].as_i64().expect("id");

    let (status, edited) = edit(
        &app,
        &ada,
        id,
        json!({"lines": [{"sku": "MUG-01", "quantity": 3}, {"product_id": bowl, "quantity": 1}],
               "note": "Ring twice"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["status"], "created");
    assert_eq!(edited["total"], 3 * 1250 + 800);
    assert_eq!(
        edited["item_description"],
        "3 × MUG-01 name, 1 × BOWL-2 name"
    );
    assert_eq!(
        edited["shipping_address"],
        address(),
        "left out, left as it was"
    );
    assert_eq!(edited["note"], "Ring twice");
    assert_eq!(
        (
            stock(&app, mug).await,
            stock(&app, lamp).await,
            stock(&app, bowl).await
        ),
        (2, 1, 3)
    );
    let (_, read) = app.order(&ada, id).await;
    assert_eq!(read, edited, "a read after the edit sees it");

    let (status, unaddressed) = edit(&app, &ada, id, json!({"shipping_address": null})).await;
    assert_eq!(status, StatusCode::OK, "{unaddressed}");
    assert_eq!(unaddressed["shipping_address"], Value::Null);
    assert_eq!(unaddressed["lines"], edited["lines"]);

    // Refusals name what is wrong and change nothing.
    for (body, why) in [
        (
            json!({}),
            "an edit names at least one of lines, shipping_address and note",
        ),
        (
            json!({"lines": [{"sku": "NOPE", "quantity": 1}]}),
            "lines[0]: no such product",
        ),
        (
            json!({"lines": [{"sku": "MUG-01", "quantity": 0}]}),
            "lines[0].quantity must be 1–1000",
        ),
    ] {
        let (status, refused) = edit(&app, &ada, id, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert_eq!(refused["error"], why);
    }
    let (status, refused) = edit(
        &app,
        &ada,
        id,
        json!({"lines": [{"sku": "MUG-01", "quantity": 6}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"], "not enough stock for MUG-01: 2 left");
    let (bob, _) = app.customer("bob@x.io").await;
    let (status, other) = edit(&app, &bob, id, json!({"note": "mine now"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    let (_, read) = app.order(&ada, id).await;
    assert_eq!(read, unaddressed, "nothing refused was written");
    assert_eq!(stock(&app, mug).await, 2);

    // An admin edits too; once the order has left `created`, nobody does.
    let (status, by_admin) = edit(&app, &admin, id, json!({"note": null})).await;
    assert_eq!(status, StatusCode::OK, "{by_admin}");
    assert_eq!(by_admin["note"], Value::Null);
    app.set_status(&admin, id, "dispatched").await;
    for token in [&ada, &admin] {
        let (status, late) = edit(&app, token, id, json!({"note": "too late"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{late}");
        assert_eq!(late["error"], "order can no longer be changed");
    }

    let history = app.history(id).await;
    let kinds: Vec<_> = history
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.from.map(|s| s.as_str()),
                e.to.as_str(),
                e.actor.as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("created", None, "created", "customer"),
            ("edited", Some("created"), "created", "customer"),
            ("edited", Some("created"), "created", "customer"),
            ("edited", Some("created"), "created", "admin"),
            ("status_changed", Some("created"), "dispatched", "admin"),
        ]
    );

    // The endpoint asked for creations and edits, not status changes.
    assert!(
        eventually(Duration::from_secs(15), || async { receiver.count() >= 4 }).await,
        "four events arrive (saw {})",
        receiver.count()
    );
    let heard: Vec<_> = receiver
        .received()
        .iter()
        .map(|r| {
            let e = r.json();
            let order = &e["data"]["order"];
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["data"]["kind"].as_str().unwrap_or_default().to_owned(),
                order["note"].clone(),
                order["shipping_address"].is_null(),
            )
        })
        .collect();
    let event = |kind: &str, note: Value, unaddressed| {
        let named = if kind == "created" {
            "order.created"
        } else {
            "order.updated"
        };
        (named.to_owned(), kind.to_owned(), note, unaddressed)
    };
    assert_eq!(
        heard,
        [
            event("created", Value::Null, false),
            event("edited", json!("Ring twice"), false),
            event("edited", json!("Ring twice"), true),
            event("edited", Value::Null, true),
        ],
        "each event carries the order as its change left it"
    );
}

#[tokio::test]
async fn a_free_text_order_changes_its_note_and_address_but_gets_no_lines() {
    let app = spawn_app().await;
    let (ada, _) = app.customer("ada@x.io").await;
    let order = app.create_order(&ada, "Laptop").await;
    let id = order["id"].as_i64().expect("id");
    let (status, refused) = edit(
        &app,
        &ada,
        id,
        json!({"lines": [{"sku": "MUG-01", "quantity": 1}]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (status, edited) = edit(
        &app,
        &ada,
        id,
        json!({"shipping_address": address(), "note": "Fragile"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["item_description"], "Laptop");
    assert_eq!(edited["lines"], json!([]));
    assert_eq!(edited["total"], Value::Null);
    assert_eq!(edited["shipping_address"], address());
}

/// Edits sent while the lifecycle moves the orders on: each is applied whole or refused
/// with 409, never half, and the stock still balances.
#[tokio::test]
async fn edits_racing_the_lifecycle_are_applied_whole_or_refused() {
    let app = spawn_app_with_step(0.3).await;
    let admin = app.admin().await;
    let (ada, _) = app.customer("ada@x.io").await;
    let mug = product(&app, &admin, "MUG-01", 100, 1000).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let (status, order) = place(
            &app,
            &ada,
            json!({"lines": [{"product_id": mug, "quantity": 1}]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        ids.push(order["id"].as_i64().expect("id"));
    }
    let mut held = 0;
    for (n, id) in ids.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (status, answer) = edit(
            &app,
            &ada,
            *id,
            json!({"lines": [{"product_id": mug, "quantity": 2}]}),
        )
        .await;
        match status {
            StatusCode::OK => {
                assert_eq!(answer["lines"][0]["quantity"], 2, "{answer}");
                held += 2;
            }
            StatusCode::CONFLICT => {
                assert_eq!(
                    answer["error"], "order can no longer be changed",
                    "order {n}"
                );
                held += 1;
            }
            other => panic!("order {n}: {other} {answer}"),
        }
    }
    assert_eq!(stock(&app, mug).await, 1000 - held);
}
