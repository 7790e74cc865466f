//! `GET /orders?q=`: an order id, a customer's e-mail, or a piece of what was ordered, with
//! the other filters, page after page, and the same in the export.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::order_lines::product;

fn ids(orders: &[Value]) -> Vec<i64> {
    orders
        .iter()
        .map(|o| o["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn a_search_finds_orders_by_id_email_item_sku_and_line_name_across_pages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    product(&app, &admin, "MUG-01", 1250, 100).await;
    product(&app, &admin, "LAMP-7", 3000, 100).await;
    let (jo, _) = app.customer("jo@x.io").await;
    let (al, al_id) = app.customer("al@example.com").await;
    let place = |token: &str, body: Value| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let (status, order) = app
                .call(Method::POST, "/orders", Some(&token), Some(body))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{order}");
            order["id"].as_i64().expect("id")
        }
    };
    let desk = place(&jo, json!({"item_description": "Standing desk, oak"})).await;
    let mugs = place(&jo, json!({"lines": [{"sku": "MUG-01", "quantity": 2}]})).await;
    let lamp = place(&al, json!({"lines": [{"sku": "LAMP-7", "quantity": 1}]})).await;
    let both = place(
        &al,
        json!({"lines": [{"sku": "MUG-01", "quantity": 1}, {"sku": "LAMP-7", "quantity": 1}]}),
    )
    .await;
    let percent = place(&al, json!({"item_description": "Lamp shade 100% linen"})).await;
    app.set_status(&admin, both, "cancelled").await;

    for (q, expected) in [
        ("mug", vec![both, mugs]),
        ("MUG-0", vec![both, mugs]),
        ("enamel", vec![]),
        ("lamp", vec![percent, both, lamp]),
        ("lamp-7", vec![both, lamp]),
        ("100%", vec![percent]),
        ("0% l", vec![percent]),
        ("DESK", vec![desk]),
        ("al@example.com", vec![percent, both, lamp]),
        ("JO@X.IO", vec![mugs, desk]),
        ("nobody@x.io", vec![]),
    ] {
        let query = format!("/orders?limit=1&q={}", urlencoding(q));
        let (found, _) = app.every_item(&query, &admin).await;
        assert_eq!(ids(&found), expected, "q={q}");
    }
    let (found, _) = app.every_item(&format!("/orders?q={lamp}"), &admin).await;
    assert_eq!(ids(&found), vec![lamp], "an id");
    let (found, _) = app
        .every_item(&format!("/orders?q=%23{desk}"), &admin)
        .await;
    assert_eq!(ids(&found), vec![desk], "#id");

    // With the other filters.
    let (found, _) = app
        .every_item("/orders?q=lamp&status=created", &admin)
        .await;
    assert_eq!(ids(&found), vec![percent, lamp]);
    let (found, _) = app
        .every_item(&format!("/orders?q=mug&customer_id={al_id}"), &admin)
        .await;
    assert_eq!(ids(&found), vec![both]);

    // The export takes the search as the list does.
    let rows = app.export(&admin, "q=lamp").await;
    let exported: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(exported, vec![percent, both, lamp]);
}

#[tokio::test]
async fn a_search_that_cannot_be_run_is_refused_and_customers_cannot_search_everyone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (jo, _) = app.customer("jo@x.io").await;
    app.create_order(&jo, "Standing desk").await;
    for (q, error) in [
        (
            "ab",
            "q must be an order id, an e-mail or at least 3 characters",
        ),
        ("%20", "q must not be empty"),
        ("de%0Ask", "q must not contain control characters"),
    ] {
        let (status, body) = app
            .call(Method::GET, &format!("/orders?q={q}"), Some(&admin), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
        assert_eq!(body["error"], error, "{q}");
        let res = app
            .request(
                Method::GET,
                &format!("/orders/export.csv?q={q}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "export q={q}");
    }
    let long = "x".repeat(256);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/orders?q={long}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .call(Method::GET, "/orders?q=desk", Some(&jo), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Percent-encodes a query value.
fn urlencoding(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}
