//! The proof that no unit is sold twice: three server processes on one PostgreSQL
//! (one process on the embedded store), 400 concurrent single-unit orders from 40 customers
//! for a product with 37 units, some cancelled and reinstated meanwhile through other
//! processes. Afterwards the stock plus the live orders' units is exactly 37, no answer was
//! anything but a success or a stock conflict, every ledger row is at or above zero and the
//! ledger sums to the stock, and each order's movements sum to minus its live quantity.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::server_process::ServerProcess;

const STOCK: i64 = 37;
const CUSTOMERS: usize = 40;
const ORDERS: usize = 400;

/// What happened to one placement attempt and what followed it.
#[derive(Debug, Default)]
struct Outcome {
    order: Option<i64>,
    cancelled: bool,
    reinstated: bool,
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_unit_is_sold_twice_across_processes_with_cancels_and_reinstatements() {
    let app = spawn_app().await;
    let processes: Vec<ServerProcess> = match test_store() {
        TestStore::Postgres => {
            let mut started = Vec::new();
            for _ in 0..3 {
                started.push(ServerProcess::start(&app.database_url, "3600").await);
            }
            started
        }
        TestStore::Sqlite => Vec::new(),
    };
    let bases: Vec<String> = if processes.is_empty() {
        vec![app.base.clone()]
    } else {
        processes.iter().map(|p| p.base.clone()).collect()
    };
    let admin = app.admin().await;
    let (status, product) = app
        .call(
            Method::POST,
            "/products",
            Some(&admin),
            Some(json!({"sku": "HOT-1", "name": "Last units", "price": 999, "stock": STOCK})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let product = product["id"].as_i64().expect("id");
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        customers.push(app.customer(&format!("c{i}@x.io")).await.0);
    }

    let tasks: Vec<_> = (0..ORDERS)
        .map(|i| {
            let client = app.client.clone();
            let (place_at, change_at) = (
                bases[i % bases.len()].clone(),
                bases[(i + 1) % bases.len()].clone(),
            );
            let (token, admin) = (customers[i % CUSTOMERS].clone(), admin.clone());
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                let body = json!({"lines": [{"product_id": product, "quantity": 1}]});
                let (status, order) = call(
                    &client,
                    &place_at,
                    Method::POST,
                    "/orders",
                    &token,
                    Some(body),
                )
                .await;
                match status {
                    StatusCode::CREATED => {}
                    StatusCode::CONFLICT => {
                        assert_eq!(order["error"], "not enough stock for HOT-1: 0 left");
                        return outcome;
                    }
                    other => panic!("placing: {other} {order}"),
                }
                let id = order["id"].as_i64().expect("id");
                outcome.order = Some(id);
                if i % 5 != 0 {
                    return outcome;
                }
                // Its owner cancels it through another process...
                let (status, body) = call(
                    &client,
                    &change_at,
                    Method::PUT,
                    &format!("/orders/{id}/cancel"),
                    &token,
                    None,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "cancelling: {body}");
                outcome.cancelled = true;
                if i % 10 != 0 {
                    return outcome;
                }
                // ...and an admin takes it up again, when a unit is left.
                let (status, body) = call(
                    &client,
                    &place_at,
                    Method::PUT,
                    &format!("/orders/{id}/status"),
                    &admin,
                    Some(json!({"status": "created"})),
                )
                .await;
                match status {
                    StatusCode::OK => outcome.reinstated = true,
                    StatusCode::CONFLICT => {
                        assert_eq!(body["error"], "not enough stock for HOT-1: 0 left")
                    }
                    other => panic!("reinstating: {other} {body}"),
                }
                outcome
            })
        })
        .collect();
    let mut live = HashMap::new();
    let (mut placed, mut cancelled, mut reinstated) = (0, 0, 0);
    for task in tasks {
        let outcome = task.await.expect("no task panicked");
        if let Some(id) = outcome.order {
            placed += 1;
            cancelled += i64::from(outcome.cancelled);
            reinstated += i64::from(outcome.reinstated);
            live.insert(id, !outcome.cancelled || outcome.reinstated);
        }
    }
    eprintln!(
        "{} processes: {placed} placed of {ORDERS}, {cancelled} cancelled, {reinstated} reinstated",
        bases.len()
    );
    assert!(
        cancelled > 0,
        "some orders were cancelled while others were placed"
    );
    let live_units = live.values().filter(|l| **l).count() as i64;

    let (_, product_now) = app
        .call(Method::GET, &format!("/products/{product}"), None, None)
        .await;
    let stock = product_now["stock"].as_i64().expect("stock");
    assert!(
        placed >= STOCK,
        "the first 37 units all sold ({placed} placements)"
    );
    assert_eq!(
        stock + live_units,
        STOCK,
        "every unit is in stock or in exactly one live order ({placed} placed, {live_units} live, {stock} left)"
    );

    let (status, ledger) = app
        .call(
            Method::GET,
            &format!("/products/{product}/stock-movements?limit=1000"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ledger}");
    let ledger = ledger.as_array().expect("an array");
    assert!(ledger.len() < 1000, "one page holds the whole ledger");
    let mut sum = 0;
    let mut per_order: HashMap<i64, i64> = HashMap::new();
    for movement in ledger.iter().rev() {
        let delta = movement["delta"].as_i64().expect("delta");
        sum += delta;
        assert_eq!(
            movement["stock_after"].as_i64(),
            Some(sum),
            "each row's stock_after follows from the rows before it"
        );
        assert!(sum >= 0, "the stock never went below zero");
        if let Some(order) = movement["order_id"].as_i64() {
            *per_order.entry(order).or_default() += delta;
        }
    }
    assert_eq!(sum, stock, "the ledger sums to the stock");
    for (order, is_live) in &live {
        assert_eq!(
            per_order.get(order).copied().unwrap_or_default(),
            if *is_live { -1 } else { 0 },
            "order {order}'s movements are minus its live quantity"
        );
    }
    assert_eq!(
        per_order.len(),
        live.len(),
        "no movement of an order that failed"
    );
    drop(processes);
}
