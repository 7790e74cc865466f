//! Three server processes on one database: a change committed through any of them reaches
//! the streams of all of them, and an idempotency key creates one order across them.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::server_process::ServerProcess;
use crate::sse::EventStream;

/// The contract: within 1 s of the change committing.
const FAN_OUT: Duration = Duration::from_secs(1);

async fn three_processes(step_seconds: &str) -> (String, Vec<ServerProcess>, Vec<TestApp>) {
    let database_url = fresh_database().await;
    let admin = [
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ];
    let mut servers = Vec::new();
    // One after the other: the first migrates and seeds, the others find that done.
    for _ in 0..3 {
        servers.push(ServerProcess::start_with(&database_url, step_seconds, &admin).await);
    }
    let apps = servers
        .iter()
        .map(|s| TestApp::new(s.base.clone(), &database_url))
        .collect();
    (database_url, servers, apps)
}

#[tokio::test]
async fn a_change_through_one_process_reaches_the_streams_of_the_others_within_a_second() {
    if !runs_on_this_store("several processes share one database") {
        return;
    }
    let (_db, _servers, apps) = three_processes("3600").await;
    let (a, b, c) = (&apps[0], &apps[1], &apps[2]);
    let (token, _) = a.customer("jo@x.io").await;
    let admin = b.admin().await;
    let mut mine_on_c = EventStream::open(c, "/my-orders/stream", &token, None).await;
    let mut all_on_b = EventStream::open(b, "/orders/stream", &admin, None).await;

    let created = a.create_order(&token, "Desk").await;
    let committed = Instant::now();
    assert_eq!(
        mine_on_c.next_order(FAN_OUT).await,
        Some((1, created.clone()))
    );
    assert_eq!(
        all_on_b.next_order(FAN_OUT).await,
        Some((1, created.clone()))
    );
    let seen_after = committed.elapsed();

    let id = created["id"].as_i64().unwrap();
    let mut order_on_c = EventStream::open(c, &format!("/orders/{id}/stream"), &token, None).await;
    assert_eq!(order_on_c.next_order(FAN_OUT).await, Some((1, created)));
    let cancelled = a.cancel(&token, id).await;
    let committed = Instant::now();
    assert_eq!(
        mine_on_c.next_order(FAN_OUT).await,
        Some((2, cancelled.clone()))
    );
    assert_eq!(
        order_on_c.next_order(FAN_OUT).await,
        Some((2, cancelled.clone()))
    );
    assert_eq!(all_on_b.next_order(FAN_OUT).await, Some((2, cancelled)));
    assert!(
        order_on_c.ended(FAN_OUT).await,
        "the order stream ends after cancellation"
    );
    eprintln!(
        "fan-out: creation seen on two other processes after {seen_after:?}, cancellation after {:?}",
        committed.elapsed()
    );
}

#[tokio::test]
async fn every_lifecycle_step_reaches_a_stream_on_any_process_in_version_order() {
    if !runs_on_this_store("several processes share one database") {
        return;
    }
    // Steps of a second: all three streams are open before the first one is due.
    let (_db, _servers, apps) = three_processes("1").await;
    let (token, _) = apps[0].customer("jo@x.io").await;
    let created = apps[0].create_order(&token, "Desk").await;
    let id = created["id"].as_i64().unwrap();
    let opened_at = std::time::Instant::now();
    let mut streams = Vec::new();
    for app in &apps {
        streams.push(EventStream::open(app, &format!("/orders/{id}/stream"), &token, None).await);
    }
    assert!(
        opened_at.elapsed() < Duration::from_millis(900),
        "the streams opened before the first step was due"
    );
    // Read side by side: each stream hears every step live, whichever process's lifecycle
    // worker made it.
    let reads = streams.into_iter().map(|mut stream| async move {
        let mut seen = Vec::new();
        while let Some((version, order)) = stream.next_order(Duration::from_secs(5)).await {
            seen.push((
                version,
                order["status"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        seen
    });
    let expected: Vec<(i64, String)> = ["created", "dispatched", "in_transit", "delivered"]
        .iter()
        .enumerate()
        .map(|(i, s)| (i as i64 + 1, (*s).to_owned()))
        .collect();
    for (seen, app) in futures_util::future::join_all(reads)
        .await
        .iter()
        .zip(&apps)
    {
        assert_eq!(seen, &expected, "on {}", app.base);
    }
}

#[tokio::test]
async fn twenty_concurrent_repeats_of_one_key_across_processes_create_one_order() {
    if !runs_on_this_store("several processes share one database") {
        return;
    }
    let (_db, _servers, apps) = three_processes("3600").await;
    let (token, _) = apps[0].customer("jo@x.io").await;
    let repeats = (0..20).map(|i| {
        let app = &apps[i % apps.len()];
        let token = token.clone();
        async move {
            let res = app
                .client
                .post(format!("{}/orders", app.base))
                .bearer_auth(&token)
                .header("Idempotency-Key", "checkout-7f3a")
                .json(&json!({"item_description": "Desk"}))
                .send()
                .await
                .expect("sent");
            let replayed = res.headers().get("idempotent-replayed").is_some();
            (
                res.status(),
                replayed,
                res.json::<Value>().await.expect("JSON"),
            )
        }
    });
    let answers = futures_util::future::join_all(repeats).await;
    let bodies: Vec<&Value> = answers.iter().map(|(_, _, body)| body).collect();
    assert!(
        answers
            .iter()
            .all(|(status, _, _)| *status == StatusCode::CREATED),
        "{answers:?}"
    );
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "one order in every answer"
    );
    assert_eq!(
        answers.iter().filter(|(_, replayed, _)| !replayed).count(),
        1
    );
    let (status, listed) = apps[1]
        .call(Method::GET, "/my-orders", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test]
async fn a_graceful_stop_ends_open_streams() {
    let (database_url, _scratch) = fresh_store().await;
    let mut server =
        ServerProcess::start_with(&database_url, "3600", &[("SHUTDOWN_TIMEOUT_SECONDS", "30")])
            .await;
    let app = TestApp::new(server.base.clone(), &database_url);
    let (token, _) = app.customer("jo@x.io").await;
    let mut stream = EventStream::open(&app, "/my-orders/stream", &token, None).await;
    let stopping = Instant::now();
    server.signal("TERM").await;
    assert!(stream.ended(Duration::from_secs(5)).await);
    let exit = server
        .wait_for_exit(Duration::from_secs(10))
        .await
        .expect("the server exits well before its 30 s shutdown timeout");
    assert!(exit.success(), "{exit:?}");
    eprintln!("stopped with an open stream in {:?}", stopping.elapsed());
}
