//! `POST /orders/bulk`: each order its own change, as its single endpoint would make it,
//! answered in the order asked; a refused order and every order not named stay as they were.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::order_lines::product;

impl TestApp {
    /// Posts a bulk request, with `key` as its Idempotency-Key when given.
    async fn bulk(&self, admin: &str, body: Value, key: Option<&str>) -> (StatusCode, Value, bool) {
        let mut req = self
            .client
            .post(format!("{}/orders/bulk", self.base))
            .bearer_auth(admin)
            .json(&body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let replayed = res
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body, replayed)
    }

    /// The order as an admin reads it now.
    async fn current(&self, admin: &str, id: i64) -> Value {
        let (status, order) = self.order(admin, id).await;
        assert_eq!(status, StatusCode::OK, "{order}");
        order
    }

    async fn stock_of(&self, admin: &str, product: i64) -> i64 {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/products/{product}"),
                Some(admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["stock"].as_i64().expect("stock")
    }
}

/// Each result as `(id, ok, status of the order or of the refusal, error)`.
fn outcomes(body: &Value) -> Vec<(i64, bool, String, String)> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results: {body}"))
        .iter()
        .map(|r| {
            let ok = r["ok"].as_bool().expect("ok");
            let status = if ok {
                r["order"]["status"].as_str().expect("order").to_owned()
            } else {
                r["status"].to_string()
            };
            (
                r["id"].as_i64().expect("id"),
                ok,
                status,
                r["error"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn ok(id: i64, status: &str) -> (i64, bool, String, String) {
    (id, true, status.to_owned(), String::new())
}

fn refused(id: i64, status: u16, error: &str) -> (i64, bool, String, String) {
    (id, false, status.to_string(), error.to_owned())
}

#[tokio::test]
async fn a_bulk_cancel_reports_each_order_in_turn_and_changes_nothing_else() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mug = product(&app, &admin, "MUG-1", 900, 10).await;
    let (jo, _) = app.customer("jo@x.io").await;
    let (al, _) = app.customer("al@x.io").await;
    let place = |token: String| {
        let app = &app;
        async move {
            let (status, order) = app
                .call(
                    Method::POST,
                    "/orders",
                    Some(&token),
                    Some(json!({"lines": [{"product_id": mug, "quantity": 2}]})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{order}");
            order["id"].as_i64().expect("id")
        }
    };
    let created = place(jo.clone()).await;
    let dispatched = place(jo.clone()).await;
    let delivered = place(al.clone()).await;
    let untouched = place(al.clone()).await;
    app.set_status(&admin, dispatched, "dispatched").await;
    app.set_status(&admin, delivered, "delivered").await;
    assert_eq!(app.stock_of(&admin, mug).await, 2);
    let before_untouched = app.current(&admin, untouched).await;
    let before_delivered = app.current(&admin, delivered).await;
    let unknown = untouched + 1000;

    let (status, body, replayed) = app
        .bulk(
            &admin,
            json!({"ids": [delivered, created, unknown, dispatched], "action": "cancel"}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!replayed);
    assert_eq!(
        outcomes(&body),
        vec![
            refused(
                delivered,
                400,
                "cannot change order status from delivered to cancelled"
            ),
            ok(created, "cancelled"),
            refused(unknown, 404, "order not found"),
            ok(dispatched, "cancelled"),
        ]
    );
    // Each changed order is answered as it is now, as the single endpoints show it.
    for result in body["results"].as_array().unwrap() {
        if result["ok"] == true {
            let id = result["id"].as_i64().unwrap();
            assert_eq!(result["order"], app.current(&admin, id).await);
        }
    }
    assert_eq!(app.current(&admin, untouched).await, before_untouched);
    assert_eq!(app.current(&admin, delivered).await, before_delivered);
    assert_eq!(
        app.stock_of(&admin, mug).await,
        6,
        "the two cancelled orders gave back their units, once"
    );
    let last = app.history(created).await.pop().expect("events");
    assert_eq!(
        (last.to, last.actor.as_str()),
        (trachios_domain::OrderStatus::Cancelled, "admin"),
        "recorded as the admin's change"
    );
}

#[tokio::test]
async fn setting_a_status_in_bulk_changes_what_differs_and_leaves_what_is_already_so() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (jo, _) = app.customer("jo@x.io").await;
    let first = app.create_order(&jo, "Lamp").await["id"].as_i64().unwrap();
    let second = app.create_order(&jo, "Desk").await["id"].as_i64().unwrap();
    app.set_status(&admin, second, "in_transit").await;
    let before = app.current(&admin, second).await;

    let (status, body, _) = app
        .bulk(
            &admin,
            json!({"ids": [first, second], "action": "set_status", "status": "in_transit"}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        outcomes(&body),
        vec![ok(first, "in_transit"), ok(second, "in_transit")]
    );
    assert_eq!(body["results"][1]["order"], before, "already so: unchanged");
    // JSON's 7.0 is 7.
    let (status, body, _) = app
        .bulk(
            &admin,
            json!({"ids": [first as f64], "action": "set_status", "status": "in_transit"}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(outcomes(&body), vec![ok(first, "in_transit")]);
    assert_eq!(app.history(first).await.len(), 2, "placed, then one change");
    assert_eq!(
        app.history(second).await.len(),
        2,
        "placed, then its own override"
    );
}

#[tokio::test]
async fn a_malformed_bulk_request_is_refused_whole_and_customers_may_not_send_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (jo, _) = app.customer("jo@x.io").await;
    let id = app.create_order(&jo, "Lamp").await["id"].as_i64().unwrap();
    let too_many: Vec<i64> = (1..=1001).collect();
    for (body, error) in [
        (
            json!({"ids": [], "action": "cancel"}),
            "ids must hold 1-1000 order ids",
        ),
        (
            json!({"ids": too_many, "action": "cancel"}),
            "ids must hold 1-1000 order ids",
        ),
        (
            json!({"ids": [id, id], "action": "cancel"}),
            &format!("ids[1]: order {id} is named twice"),
        ),
        (
            json!({"ids": [id, -4], "action": "cancel"}),
            "ids[1] must be a positive integer",
        ),
        (
            json!({"ids": [id], "action": "delete"}),
            "action must be cancel or set_status",
        ),
        (
            json!({"ids": [id], "action": "cancel", "status": "created"}),
            "status is only for action set_status",
        ),
        (
            json!({"ids": [id], "action": "set_status"}),
            "status is required with action set_status",
        ),
    ] {
        let (status, answer, _) = app.bulk(&admin, body.clone(), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"], error, "{body}");
    }
    for body in [
        json!({"ids": [id], "action": "set_status", "status": "lost"}),
        json!({"ids": [id], "action": "cancel", "force": true}),
        json!({"ids": ["1"], "action": "cancel"}),
        json!({"ids": [1.5], "action": "cancel"}),
        json!({"action": "cancel"}),
    ] {
        let (status, answer, _) = app.bulk(&admin, body.clone(), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    let (status, answer, _) = app
        .bulk(&jo, json!({"ids": [id], "action": "cancel"}), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(app.current(&admin, id).await["status"], "created");
}

#[tokio::test]
async fn a_repeated_key_gets_the_first_answer_and_changes_nothing_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (jo, _) = app.customer("jo@x.io").await;
    let id = app.create_order(&jo, "Lamp").await["id"].as_i64().unwrap();
    let cancel = json!({"ids": [id], "action": "cancel"});

    let (status, first, replayed) = app.bulk(&admin, cancel.clone(), Some("bulk-1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(!replayed);
    assert_eq!(outcomes(&first), vec![ok(id, "cancelled")]);

    // Reinstated meanwhile: a replay must not cancel it again.
    app.set_status(&admin, id, "created").await;
    let (status, again, replayed) = app.bulk(&admin, cancel.clone(), Some("bulk-1")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert!(replayed, "marked as the kept answer");
    assert_eq!(again, first);
    assert_eq!(app.current(&admin, id).await["status"], "created");

    let other = json!({"ids": [id], "action": "set_status", "status": "delivered"});
    let (status, answer, _) = app.bulk(&admin, other, Some("bulk-1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(app.current(&admin, id).await["status"], "created");

    // A key is the caller's own: another admin's use of it is a request of its own.
    let (status, body, replayed) = app.bulk(&admin, cancel, Some("bulk-2")).await;
    assert_eq!((status, replayed), (StatusCode::OK, false), "{body}");
    assert_eq!(outcomes(&body), vec![ok(id, "cancelled")]);
}

#[tokio::test]
async fn concurrent_repeats_of_a_keyed_bulk_request_on_two_processes_run_it_once() {
    let processes = Processes::spawn().await;
    let (first, second) = (processes.first(), processes.second());
    let admin = first.admin().await;
    let (jo, _) = first.customer("jo@x.io").await;
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(
            first.create_order(&jo, &format!("Item {n}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let cancel = json!({"ids": ids, "action": "cancel"});
    let attempts: Vec<_> = (0..6)
        .map(|n| {
            let app = if n % 2 == 0 { first } else { second };
            app.bulk(&admin, cancel.clone(), Some("same"))
        })
        .collect();
    let answers = futures_util::future::join_all(attempts).await;
    let ran: Vec<_> = answers
        .iter()
        .filter(|(status, _, replayed)| *status == StatusCode::OK && !replayed)
        .collect();
    assert_eq!(ran.len(), 1, "one request ran: {answers:?}");
    let answer = &ran[0].1;
    assert!(outcomes(answer)
        .iter()
        .all(|(_, ok, status, _)| *ok && status == "cancelled"));
    for (status, body, replayed) in &answers {
        match *status {
            StatusCode::OK if *replayed => assert_eq!(body, answer),
            StatusCode::OK => {}
            StatusCode::CONFLICT => assert_eq!(
                body["error"],
                "a request with this Idempotency-Key is still being processed"
            ),
            other => panic!("{other}: {body}"),
        }
    }
    for id in ids {
        let cancels = first
            .history(id)
            .await
            .iter()
            .filter(|e| e.to == trachios_domain::OrderStatus::Cancelled)
            .count();
        assert_eq!(cancels, 1, "order {id} cancelled once");
    }
}

#[tokio::test]
async fn a_bulk_cancel_racing_the_lifecycle_never_cancels_a_delivered_order() {
    let app = spawn_app_with_step(0.1).await;
    let admin = app.admin().await;
    let (jo, _) = app.customer("jo@x.io").await;
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(
            app.create_order(&jo, &format!("Item {n}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    // Some orders are delivered by now, some on their way: the request meets both.
    let (status, body, _) = app
        .bulk(&admin, json!({"ids": ids, "action": "cancel"}), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (id, ok, status, error) in outcomes(&body) {
        let now = app.current(&admin, id).await;
        if ok {
            assert_eq!(status, "cancelled");
            assert_eq!(now["status"], "cancelled", "order {id} stays cancelled");
        } else {
            assert_eq!(
                (status.as_str(), error.as_str()),
                (
                    "400",
                    "cannot change order status from delivered to cancelled"
                )
            );
            assert_eq!(now["status"], "delivered", "order {id}");
        }
    }
}

#[tokio::test]
async fn bulk_requests_spend_the_callers_allowance_and_past_it_change_nothing() {
    let app = spawn_configured(3600.0, |s| s.limits.order_rate_per_minute = 2).await;
    let admin = app.admin().await;
    let (jo, _) = app.customer("jo@x.io").await;
    let id = app.create_order(&jo, "Lamp").await["id"].as_i64().unwrap();
    for status in ["dispatched", "in_transit"] {
        let body = json!({"ids": [id], "action": "set_status", "status": status});
        let (code, answer, _) = app.bulk(&admin, body, None).await;
        assert_eq!(code, StatusCode::OK, "{answer}");
    }
    let res = app
        .client
        .post(format!("{}/orders/bulk", app.base))
        .bearer_auth(&admin)
        .json(&json!({"ids": [id], "action": "cancel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(app.current(&admin, id).await["status"], "in_transit");
}
