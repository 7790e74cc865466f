use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trachios_domain::OrderEvent;
use trachios_domain::OrderStatus;

use crate::helpers::*;
use crate::server_process::ServerProcess;

const STEP: f64 = 0.3;

async fn history(app: &TestApp, id: i64) -> Vec<OrderEvent> {
    app.history(id).await
}

fn system_steps(events: &[OrderEvent]) -> Vec<OrderStatus> {
    events
        .iter()
        .filter(|e| e.actor == trachios_domain::ActorKind::System)
        .map(|e| e.to)
        .collect()
}

async fn status_of(app: &TestApp, token: &str, id: i64) -> String {
    app.order(token, id).await.1["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_order_moves_through_the_three_steps_in_order_and_on_time() {
    let app = spawn_app_with_step(STEP).await;
    let (token, _) = app.customer("jo@x.io").await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    let delivered = eventually(Duration::from_secs(10), || async {
        status_of(&app, &token, id).await == "delivered"
    })
    .await;
    assert!(delivered);
    let events = history(&app, id).await;
    assert_eq!(
        system_steps(&events),
        vec![
            OrderStatus::Dispatched,
            OrderStatus::InTransit,
            OrderStatus::Delivered
        ]
    );
    // Never early (a step is due one step after the last change); late only by the poll
    // interval and the load of the machine, hence the generous upper bound.
    let step_ms = (STEP * 1000.0) as i64;
    for pair in events.windows(2) {
        let gap = (pair[1].at - pair[0].at).num_milliseconds();
        assert!(
            (step_ms - 1..step_ms * 10).contains(&gap),
            "each status lasts about one step ({step_ms} ms): {gap} ms"
        );
    }
    // Delivered is terminal: nothing more happens while another order goes all the way.
    let control = app.create_order(&token, "Lamp").await["id"]
        .as_i64()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || async {
            status_of(&app, &token, control).await == "delivered"
        })
        .await
    );
    assert_eq!(history(&app, id).await.len(), 4);
}

#[tokio::test]
async fn a_cancelled_order_never_moves_again() {
    let app = spawn_app_with_step(STEP).await;
    let (token, _) = app.customer("jo@x.io").await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/orders/{id}/cancel"),
            Some(&token),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    // An order placed after the cancel goes all the way: the lifecycle has had every chance
    // to move the cancelled one by the time it is delivered.
    let control = app.create_order(&token, "Lamp").await["id"]
        .as_i64()
        .unwrap();
    assert!(
        eventually(Duration::from_secs_f64(STEP * 40.0), || async {
            status_of(&app, &token, control).await == "delivered"
        })
        .await,
        "the lifecycle delivers the control order"
    );
    assert_eq!(status_of(&app, &token, id).await, "cancelled");
    // A loaded machine may let the first step in before the cancel; after it, nothing.
    let events = history(&app, id).await;
    let cancel = events
        .iter()
        .position(|e| e.to == OrderStatus::Cancelled)
        .expect("the cancel is recorded");
    assert_eq!(
        cancel,
        events.len() - 1,
        "nothing after the cancel: {events:?}"
    );
}

#[tokio::test]
async fn an_admin_override_restarts_the_step_or_stops_it() {
    let app = spawn_app_with_step(1.0).await;
    let (token, _) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/orders/{id}/status");

    let (code, body) = app
        .call(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({"status": "in_transit"})),
        )
        .await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("in_transit")),
        "{body}"
    );
    let moved = eventually(Duration::from_secs(10), || async {
        status_of(&app, &token, id).await == "delivered"
    })
    .await;
    assert!(moved, "the overridden order moved on by itself");
    let events = history(&app, id).await;
    let overridden = events
        .iter()
        .find(|e| e.to == OrderStatus::InTransit)
        .expect("the override is in the history");
    let delivered = events.last().expect("a history");
    assert_eq!(delivered.to, OrderStatus::Delivered);
    assert!(
        delivered.at - overridden.at >= chrono::Duration::seconds(1),
        "the step restarted at the override: {:?} after it",
        delivered.at - overridden.at
    );

    let other = app.create_order(&token, "Chair").await["id"]
        .as_i64()
        .unwrap();
    for status in ["delivered", "cancelled"] {
        let (code, body) = app
            .call(
                Method::PUT,
                &format!("/orders/{other}/status"),
                Some(&admin),
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(
            (code, body["status"].as_str()),
            (StatusCode::OK, Some(status)),
            "{body}"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(status_of(&app, &token, other).await, "cancelled");
    assert!(system_steps(&history(&app, other).await).is_empty());
}

#[tokio::test]
async fn three_server_processes_on_one_database_step_each_order_exactly_once() {
    if !runs_on_this_store("several processes share one database") {
        return;
    }
    let database_url = fresh_database().await;
    let admin = [
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(ServerProcess::start_with(&database_url, "0.2", &admin).await);
    }
    let apps: Vec<TestApp> = servers
        .iter()
        .map(|s| TestApp::new(s.base.clone(), &database_url))
        .collect();
    let (token, _) = apps[0].customer("jo@x.io").await;
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(
            apps[n % 3].create_order(&token, &format!("item {n}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let all_delivered = eventually(Duration::from_secs(20), || async {
        let (_, mine) = apps[1]
            .call(Method::GET, "/my-orders", Some(&token), None)
            .await;
        mine.as_array()
            .is_some_and(|a| a.len() == 60 && a.iter().all(|o| o["status"] == "delivered"))
    })
    .await;
    assert!(all_delivered);
    for id in ids {
        let steps = system_steps(&history(&apps[0], id).await);
        assert_eq!(
            steps,
            vec![
                OrderStatus::Dispatched,
                OrderStatus::InTransit,
                OrderStatus::Delivered
            ],
            "order {id}"
        );
    }
}

#[tokio::test]
async fn no_order_is_delivered_after_a_cancel_that_succeeded() {
    let app = spawn_app_with_step(0.1).await;
    let (token, _) = app.customer("jo@x.io").await;
    // Each order is cancelled at its own moment within its ~300 ms life, so that cancels
    // land in every status and race the worker's steps.
    let cancels = (0..200u64).map(|n| {
        let app = &app;
        let token = &token;
        async move {
            let id = app.create_order(token, &format!("item {n}")).await["id"]
                .as_i64()
                .unwrap();
            tokio::time::sleep(Duration::from_millis((n * 37) % 450)).await;
            let res = app
                .request(
                    Method::PUT,
                    &format!("/orders/{id}/cancel"),
                    Some(token),
                    None,
                )
                .await;
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            (id, status, body)
        }
    });
    let outcomes = futures_util::future::join_all(cancels).await;
    // Wait until every order the lifecycle could still move has ended.
    assert!(
        eventually(Duration::from_secs(30), || async {
            let (_, mine) = app
                .call(Method::GET, "/my-orders?limit=1000", Some(&token), None)
                .await;
            mine.as_array().is_some_and(|orders| {
                orders.len() == 200
                    && orders
                        .iter()
                        .all(|o| o["status"] == "delivered" || o["status"] == "cancelled")
            })
        })
        .await,
        "every order ends"
    );
    let mut won = 0;
    let mut refused = 0;
    let mut cancelled_on_the_way = 0;
    for (id, status, body) in outcomes {
        let now = status_of(&app, &token, id).await;
        match status {
            StatusCode::OK => {
                won += 1;
                assert_eq!(
                    now, "cancelled",
                    "order {id} cancelled with 200 must stay cancelled"
                );
                let events = history(&app, id).await;
                let last = events.last().unwrap();
                assert_eq!(
                    last.to,
                    OrderStatus::Cancelled,
                    "nothing happened after the cancel of {id}"
                );
                if last.from != Some(OrderStatus::Created) {
                    cancelled_on_the_way += 1;
                }
            }
            StatusCode::BAD_REQUEST => {
                refused += 1;
                assert_eq!(
                    now, "delivered",
                    "a refused cancel means the order was delivered: {body}"
                );
            }
            other => panic!("unexpected {other} for order {id}: {body}"),
        }
    }
    // The race was run: cancels met orders the lifecycle had moved, and some came too late.
    assert!(
        won > 0 && cancelled_on_the_way > 0 && refused > 0,
        "won {won} (of which {cancelled_on_the_way} after a step), refused {refused}"
    );
}

#[tokio::test]
async fn a_killed_server_resumes_every_order_without_skipping_or_repeating_a_step() {
    let (database_url, _scratch) = fresh_store().await;
    let admin = [
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let mut server = ServerProcess::start_with(&database_url, "0.4", &admin).await;
    let client = TestApp::new(server.base.clone(), &database_url);
    let (token, _) = client.customer("jo@x.io").await;
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(
            client.create_order(&token, &format!("item {n}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    // Kill it mid-way: some orders have moved, none is delivered yet.
    let mid_way = eventually(Duration::from_secs(10), || async {
        system_step_count(&client, &ids).await > 0
    })
    .await;
    assert!(mid_way, "orders started moving before the kill");
    // Counted before the kill: after it, nothing answers until the restart.
    let moved_before = system_step_count(&client, &ids).await;
    server.kill().await;
    assert!(
        moved_before < 40 * 3,
        "the kill came before every order was delivered ({moved_before} steps)"
    );
    // While nothing runs, orders fall due and wait: two steps' time.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let _restarted = ServerProcess::start_on(&database_url, "0.4", &server.base).await;
    let done = eventually(Duration::from_secs(20), || async {
        let Ok(res) = client
            .client
            .get(format!("{}/my-orders", client.base))
            .bearer_auth(&token)
            .send()
            .await
        else {
            return false; // still restarting
        };
        let list: Value = res.json().await.unwrap_or(Value::Null);
        list.as_array()
            .is_some_and(|a| a.len() == 40 && a.iter().all(|o| o["status"] == "delivered"))
    })
    .await;
    assert!(done, "every order reaches delivered after the restart");
    for id in ids {
        let steps = system_steps(&history(&client, id).await);
        assert_eq!(
            steps,
            vec![
                OrderStatus::Dispatched,
                OrderStatus::InTransit,
                OrderStatus::Delivered
            ],
            "order {id}"
        );
    }
}

/// How many automatic steps the orders' histories record.
async fn system_step_count(app: &TestApp, ids: &[i64]) -> usize {
    let mut steps = 0;
    for id in ids {
        steps += system_steps(&history(app, *id).await).len();
    }
    steps
}
