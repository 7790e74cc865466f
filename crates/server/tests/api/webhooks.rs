//! Webhooks end to end: real servers, a real local receiver, the outbox on both stores.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trachios_webhooks::sign;

use crate::helpers::*;
use crate::receiver::Receiver;
use crate::server_process::ServerProcess;

/// Test settings that let webhooks reach the local receiver and retry quickly.
fn quick_retries(s: &mut trachios_server::Settings) {
    s.webhooks.allow_private = true;
    s.webhooks.retry_base_seconds = 0.05;
}

/// Subscribes `url`; returns (id, secret).
pub(crate) async fn subscribe(
    app: &TestApp,
    admin: &str,
    url: &str,
    events: Option<&[&str]>,
) -> (i64, String) {
    let mut body = json!({ "url": url });
    if let Some(events) = events {
        body["events"] = json!(events);
    }
    let (status, created) = app
        .call(Method::POST, "/webhooks", Some(admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_i64().expect("id"),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

/// The signature's `t` and whether `v1` is the HMAC of `t.body` under `secret`.
pub(crate) fn signed_by(secret: &str, signature: &str, body: &[u8]) -> bool {
    let t = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse::<i64>().ok());
    t.is_some_and(|t| sign(secret, t, body) == signature)
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_three_attempts_of_one_event_with_identical_bodies() {
    // A process of its own, so that its metrics count only this test's attempts.
    let (database_url, _scratch) = fresh_store().await;
    let server = ServerProcess::start_with(&database_url, "3600", PROCESS_ENV).await;
    let app = TestApp::new(server.base.clone(), &database_url);
    let admin = app.admin().await;
    let receiver = Receiver::start(vec![500, 500], Duration::ZERO);
    let (hook, secret) = subscribe(&app, &admin, &receiver.url, Some(&["order.created"])).await;
    let (customer, customer_id) = app.customer("hooked@x.io").await;
    let order = app.create_order(&customer, "Desk").await;

    assert!(
        eventually(Duration::from_secs(10), || async { receiver.count() >= 3 }).await,
        "three attempts arrive (saw {})",
        receiver.count()
    );
    let log_path = format!("/webhooks/{hook}/deliveries");
    assert!(
        eventually(Duration::from_secs(10), || async {
            let (_, log) = app.call(Method::GET, &log_path, Some(&admin), None).await;
            log.as_array().is_some_and(|l| l.len() >= 3)
        })
        .await,
        "the three attempts are logged"
    );
    let got = receiver.received();
    assert_eq!(got.len(), 3, "a 200 ends the retries");
    let first = &got[0];
    for attempt in &got {
        assert_eq!(
            attempt.event_id, first.event_id,
            "one event id in every attempt"
        );
        assert_eq!(attempt.body, first.body, "identical bodies");
        assert_eq!(attempt.content_type, "application/json");
        assert!(
            signed_by(&secret, &attempt.signature, &attempt.body),
            "{}",
            attempt.signature
        );
    }
    let event = first.json();
    assert_eq!(event["id"], first.event_id.as_str());
    assert_eq!(event["type"], "order.created");
    assert_eq!(
        event["data"]["order"], order,
        "the order as the API shows it"
    );
    assert_eq!(event["data"]["from_status"], Value::Null);
    assert_eq!(event["data"]["to_status"], "created");
    assert_eq!(event["data"]["actor"], "customer");
    assert_eq!(event["data"]["actor_id"], customer_id);

    let (status, log) = app
        .call(
            Method::GET,
            &format!("/webhooks/{hook}/deliveries"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let attempts: Vec<_> = log
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| {
            (
                d["attempt"].as_i64(),
                d["status_code"].as_i64(),
                d["event_id"].clone(),
            )
        })
        .collect();
    let id = json!(first.event_id);
    assert_eq!(
        attempts,
        vec![
            (Some(3), Some(200), id.clone()),
            (Some(2), Some(500), id.clone()),
            (Some(1), Some(500), id),
        ],
        "newest first"
    );
    assert_eq!(log[0]["event_type"], "order.created");
    assert_eq!(log[0]["error"], Value::Null);

    let metrics = app
        .client
        .get(app.base.replace("/api/v1", "/metrics"))
        .send()
        .await
        .expect("metrics answer");
    let text = metrics.text().await.expect("metrics text");
    let attempts = |result: &str| {
        crate::operations::value(
            &text,
            "trachios_webhook_attempts_total",
            &format!(r#"result="{result}""#),
        )
    };
    assert_eq!(
        (
            attempts("retry"),
            attempts("delivered"),
            attempts("gave_up")
        ),
        (Some(2.0), Some(1.0), Some(0.0)),
        "{text}"
    );
}

#[tokio::test]
async fn an_order_that_delivers_itself_is_announced_created_then_three_changes_in_order() {
    let app = spawn_configured(0.3, quick_retries).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    subscribe(&app, &admin, &receiver.url, None).await;
    let (customer, _) = app.customer("moving@x.io").await;
    let order = app.create_order(&customer, "Lamp").await;

    assert!(
        eventually(Duration::from_secs(15), || async { receiver.count() >= 4 }).await,
        "four events arrive (saw {})",
        receiver.count()
    );
    let events: Vec<Value> = receiver.received().iter().map(|r| r.json()).collect();
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["data"]["from_status"].clone(),
                e["data"]["to_status"].clone(),
                e["data"]["actor"].clone(),
            )
        })
        .collect();
    let step = |from: &str, to: &str| {
        (
            "order.status_changed".to_owned(),
            json!(from),
            json!(to),
            json!("system"),
        )
    };
    assert_eq!(
        seen,
        vec![
            (
                "order.created".to_owned(),
                Value::Null,
                json!("created"),
                json!("customer")
            ),
            step("created", "dispatched"),
            step("dispatched", "in_transit"),
            step("in_transit", "delivered"),
        ]
    );
    for e in &events {
        assert_eq!(e["data"]["order"]["id"], order["id"]);
        assert_eq!(e["data"]["order"]["status"], e["data"]["to_status"]);
    }
    let ids: HashSet<_> = events.iter().map(|e| e["id"].to_string()).collect();
    assert_eq!(ids.len(), 4, "each event has its own id");
}

#[tokio::test]
async fn admins_manage_webhooks_and_bad_or_private_urls_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (customer, _) = app.customer("nosy@x.io").await;
    let create = |token: String, body: Value| {
        let app = &app;
        async move {
            app.call(Method::POST, "/webhooks", Some(&token), Some(body))
                .await
        }
    };
    let (status, _) = create(customer.clone(), json!({"url": "https://example.com/"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (url, problem) in [
        ("http://127.0.0.1:9/hook", "public"),
        ("http://localhost/hook", "public"),
        ("http://[::ffff:127.0.0.1]/", "public"),
        ("http://169.254.169.254/latest/meta-data/", "public"),
        ("http://10.1.2.3/", "public"),
        ("ftp://example.com/", "http"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://no-such-host.invalid/", "resolved"),
    ] {
        let (status, body) = create(admin.clone(), json!({ "url": url })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("url") && error.contains(problem),
            "{url}: {error}"
        );
    }
    let (status, body) = create(
        admin.clone(),
        json!({"url": "https://93.184.216.34/hook", "events": ["order.shipped"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("events"));
    let (status, _) = create(
        admin.clone(),
        json!({"url": "https://93.184.216.34/", "events": []}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an empty subscription");

    let res = app
        .request(
            Method::POST,
            "/webhooks",
            Some(&admin),
            Some(json!({"url": "https://93.184.216.34/hook"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "the secret is not cached"
    );
    let created: Value = res.json().await.expect("json");
    assert_eq!(
        created["events"],
        json!(["order.created", "order.status_changed"])
    );
    assert!(created["secret"].as_str().is_some_and(|s| s.len() >= 32));
    let id = created["id"].as_i64().expect("id");

    let (status, listed) = app.call(Method::GET, "/webhooks", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["url"], "https://93.184.216.34/hook");
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown only once"
    );
    let (status, _) = app
        .call(Method::GET, "/webhooks", Some(&customer), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let path = format!("/webhooks/{id}");
    let (status, _) = app.call(Method::DELETE, &path, Some(&customer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = app
        .call(
            Method::GET,
            &format!("{path}/deliveries"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_delivery_log_is_paged_newest_first() {
    let app = spawn_configured(3600.0, quick_retries).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    let (hook, _) = subscribe(&app, &admin, &receiver.url, None).await;
    let (customer, _) = app.customer("pages@x.io").await;
    for i in 0..5 {
        app.create_order(&customer, &format!("Item {i}")).await;
    }
    // Attempts are logged once their batch is answered, a moment after the receiver saw them.
    let first_page = format!("/webhooks/{hook}/deliveries");
    assert!(
        eventually(Duration::from_secs(10), || async {
            let (_, log) = app.call(Method::GET, &first_page, Some(&admin), None).await;
            log.as_array().is_some_and(|l| l.len() >= 5)
        })
        .await
    );
    let mut path = format!("/webhooks/{hook}/deliveries?limit=2");
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..5 {
        let res = app.request(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let next = res
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split(">;").next())
            .map(|l| l.trim_start_matches('<').to_owned());
        let page: Vec<Value> = res.json().await.expect("json");
        sizes.push(page.len());
        seen.extend(
            page.into_iter()
                .map(|d| d["event_id"].as_str().unwrap_or_default().to_owned()),
        );
        match next {
            Some(next) => path = next.trim_start_matches("/api/v1").to_owned(),
            None => break,
        }
    }
    // A batch is sent at once, so the receiver's order within it is the network's; the log
    // lists attempts in the order they were recorded.
    let mut sent: Vec<String> = receiver
        .received()
        .into_iter()
        .map(|r| r.event_id)
        .collect();
    assert_eq!(
        sizes,
        [2, 2, 1],
        "pages of the size asked for, the last one shorter"
    );
    assert_eq!(seen.len(), 5, "every attempt once: {seen:?}");
    let mut listed = seen.clone();
    listed.sort();
    sent.sort();
    assert_eq!(listed, sent);
    // The pages, one after another, are the whole log in its order: newest first.
    let (_, whole) = app.call(Method::GET, &first_page, Some(&admin), None).await;
    let whole = whole.as_array().expect("a list").clone();
    let in_order: Vec<String> = whole
        .iter()
        .map(|d| d["event_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(seen, in_order);
    // Newest first means newest recorded: each process's two delivery workers record their
    // batches as they finish, so an attempt that ended a moment earlier can be recorded
    // after one that ended later, and `delivered_at` need not descend across them.
    for entry in &whole {
        let at = entry["delivered_at"].as_str().unwrap_or_default();
        assert!(
            at.parse::<chrono::DateTime<chrono::Utc>>().is_ok(),
            "delivered_at is a time: {entry}"
        );
    }
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/webhooks/{hook}/deliveries?cursor=forged"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// Environment for a real server process delivering to local receivers.
pub(crate) const PROCESS_ENV: &[(&str, &str)] = &[
    ("ADMIN_EMAIL", ADMIN_EMAIL),
    ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ("WEBHOOK_ALLOW_PRIVATE", "true"),
    ("WEBHOOK_RETRY_BASE_SECONDS", "0.05"),
    // The lease is the timeout plus 5 s: a killed process's claims come free within 6 s.
    ("WEBHOOK_TIMEOUT_SECONDS", "1"),
];

#[tokio::test]
async fn a_process_killed_in_the_middle_of_deliveries_loses_nothing() {
    let (database_url, _scratch) = fresh_store().await;
    let mut first = ServerProcess::start_with(&database_url, "3600", PROCESS_ENV).await;
    let app = TestApp::new(first.base.clone(), &database_url);
    let admin = app.admin().await;
    // The receiver holds its answers: the first batch is in flight when the process dies.
    let receiver = Receiver::holding(vec![], Duration::ZERO);
    let (hook, _) = subscribe(&app, &admin, &receiver.url, Some(&["order.created"])).await;
    let (customer, _) = app.customer("crash@x.io").await;
    let mut orders = Vec::new();
    for i in 0..150 {
        orders.push(app.create_order(&customer, &format!("Crate {i}")).await);
    }
    assert!(
        eventually(Duration::from_secs(20), || async {
            receiver.in_flight() >= 10
        })
        .await,
        "deliveries are under way"
    );
    first.kill().await;
    // Requests already on the wire when the process died still land; count them too.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let in_flight = receiver.in_flight();
    receiver.release();

    let _second =
        ServerProcess::start_on_with(&database_url, "3600", &first.base, PROCESS_ENV).await;
    // The receiver saw the in-flight requests arrive, but their answers died with the
    // process: only a recorded 2xx counts, and those are retried once their lease ends.
    let log = format!("/webhooks/{hook}/deliveries?limit=1000");
    let admin = app.admin().await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            let (_, log) = app.call(Method::GET, &log, Some(&admin), None).await;
            let delivered: HashSet<String> = log
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["status_code"] == 200)
                .map(|d| d["event_id"].to_string())
                .collect();
            delivered.len() >= 150
        })
        .await,
        "every event is recorded as delivered after the restart"
    );
    let got = receiver.received();
    let by_order: HashSet<i64> = got
        .iter()
        .filter_map(|r| r.json()["data"]["order"]["id"].as_i64())
        .collect();
    let placed: HashSet<i64> = orders.iter().filter_map(|o| o["id"].as_i64()).collect();
    assert_eq!(by_order, placed, "an event for every order placed");
    let duplicates = got.len()
        - got
            .iter()
            .map(|r| &r.event_id)
            .collect::<HashSet<_>>()
            .len();
    eprintln!("{in_flight} in flight at the kill; {duplicates} received twice (at least once)");
    assert_eq!(
        duplicates, in_flight,
        "exactly the attempts in flight at the kill (sent, never answered) are made again"
    );
}

#[tokio::test]
async fn three_processes_share_deliveries_and_never_make_an_attempt_twice() {
    if !runs_on_this_store("three processes share one database") {
        return;
    }
    let database_url = fresh_database().await;
    // Small batches, so that no process claims everything due at once.
    let env = [PROCESS_ENV, &[("WEBHOOK_BATCH_SIZE", "5")]].concat();
    let mut processes = Vec::new();
    for _ in 0..3 {
        processes.push(ServerProcess::start_with(&database_url, "0.2", &env).await);
    }
    let app = TestApp::new(processes[0].base.clone(), &database_url);
    let admin = app.admin().await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    let (hook, _) = subscribe(&app, &admin, &receiver.url, None).await;
    let (customer, _) = app.customer("shared@x.io").await;
    for i in 0..60 {
        let via = TestApp::new(processes[i % 3].base.clone(), &database_url);
        via.create_order(&customer, &format!("Part {i}")).await;
    }
    // 60 orders × (created + 3 steps).
    assert!(
        eventually(Duration::from_secs(30), || async {
            receiver.count() >= 240
        })
        .await,
        "every event arrives (saw {})",
        receiver.count()
    );
    let got = receiver.received();
    let mut per_event: HashMap<&str, usize> = HashMap::new();
    for r in &got {
        *per_event.entry(r.event_id.as_str()).or_default() += 1;
    }
    assert_eq!(per_event.len(), 240);
    assert!(
        per_event.values().all(|&n| n == 1),
        "no event was sent twice"
    );
    // Per order, the events arrived in the order they happened.
    let mut last: HashMap<i64, i64> = HashMap::new();
    let rank = |s: &str| {
        ["created", "dispatched", "in_transit", "delivered"]
            .iter()
            .position(|x| *x == s)
    };
    for r in &got {
        let e = r.json();
        let order = e["data"]["order"]["id"].as_i64().expect("order id");
        let now =
            rank(e["data"]["to_status"].as_str().unwrap_or_default()).expect("a status") as i64;
        let before = last.insert(order, now).unwrap_or(-1);
        assert_eq!(now, before + 1, "order {order}: events in order");
    }
    let log_path = format!("/webhooks/{hook}/deliveries?limit=1000");
    let read_log = || async {
        let (_, log) = app.call(Method::GET, &log_path, Some(&admin), None).await;
        log.as_array().cloned().unwrap_or_default()
    };
    assert!(
        eventually(Duration::from_secs(10), || async {
            read_log().await.len() >= 240
        })
        .await,
        "every attempt is logged"
    );
    let log = read_log().await;
    assert_eq!(log.len(), 240);
    assert!(log
        .iter()
        .all(|d| d["attempt"] == 1 && d["status_code"] == 200));
    // The work was shared: each process counts what it delivered itself.
    let mut delivered_by = Vec::new();
    for process in &processes {
        let delivered = process
            .metric("trachios_webhook_attempts_total", r#"result="delivered""#)
            .await;
        delivered_by.push(delivered);
    }
    eprintln!("delivered by each process: {delivered_by:?}");
    assert_eq!(delivered_by.iter().sum::<f64>(), 240.0, "{delivered_by:?}");
    assert!(
        delivered_by.iter().filter(|&&n| n > 0.0).count() >= 2,
        "more than one process delivered: {delivered_by:?}"
    );
}
