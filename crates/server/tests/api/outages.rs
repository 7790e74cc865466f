//! PostgreSQL failing under the service: a session killed in the middle of a query, and
//! an outage while clients keep working. Every answer is a success or a 503 with
//! `Retry-After`, never a 500, and nothing acknowledged is lost.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::process::Command;
use trachios_test_support::base_database_url;

use crate::helpers::*;

/// The test's own database seen from outside: what an operator or a crash does to it.
struct Database {
    name: String,
    url: String,
    admin_url: String,
}

impl Database {
    fn of(url: &str) -> Self {
        Self {
            name: trachios_test_support::database_name(url),
            url: url.to_owned(),
            admin_url: trachios_postgres::with_database(&base_database_url(), "postgres"),
        }
    }

    async fn allow_connections(&self, allowed: bool) {
        psql(
            &self.admin_url,
            &format!(
                "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allowed}",
                self.name
            ),
        )
        .await;
    }

    /// Terminates the sessions on this database that match `condition`, as a crash or
    /// a restart would; returns how many there were.
    async fn terminate(&self, condition: &str) -> usize {
        psql(
            &self.admin_url,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = '{}' AND pid <> pg_backend_pid() AND {condition}",
                self.name
            ),
        )
        .await
        .trim()
        .parse()
        .unwrap_or(0)
    }

    async fn sessions_waiting_for_a_lock(&self) -> usize {
        psql(
            &self.admin_url,
            &format!(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = '{}' AND {REQUEST_WAITING_FOR_A_LOCK}",
                self.name
            ),
        )
        .await
        .trim()
        .parse()
        .unwrap_or(0)
    }
}

/// A request's session waiting for a lock; the background workers' statements — the
/// lifecycle batch and the change follower's read of new events, which may be waiting too,
/// depending on when they ran — are left out.
const REQUEST_WAITING_FOR_A_LOCK: &str = "wait_event_type = 'Lock' \
     AND query NOT LIKE '%SKIP LOCKED%' AND query NOT LIKE '%AS event_id%'";

async fn assert_retryable_503(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert!(
        res.headers().contains_key("retry-after"),
        "{what}: no Retry-After"
    );
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(body["error"].is_string(), "{what}: {body}");
}

#[tokio::test]
async fn a_session_killed_in_the_middle_of_a_query_is_503_not_500() {
    if !runs_on_this_store("kills PostgreSQL sessions") {
        return;
    }
    let app = spawn_app().await;
    let db = Database::of(&app.database_url);
    let (token, _) = app.customer("jo@x.io").await;
    let order = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();

    // Someone holds the orders table, so that the service's queries are in flight, waiting.
    let mut locker = Command::new("psql")
        .args([
            db.url.as_str(),
            "-qc",
            "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("psql is installed");
    let locked = eventually(Duration::from_secs(10), || async {
        psql(
            &db.admin_url,
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE '%pg_sleep(60)%' AND state = 'active'",
                db.name
            ),
        )
        .await
        .trim()
            == "1"
    })
    .await;
    assert!(locked, "the locking session started");

    let (one, cancel) = (
        format!("/orders/{order}"),
        format!("/orders/{order}/cancel"),
    );
    let in_flight = [
        app.request(Method::GET, &one, Some(&token), None),
        app.request(Method::GET, "/my-orders", Some(&token), None),
        app.request(
            Method::POST,
            "/orders",
            Some(&token),
            Some(json!({"item_description": "Lamp"})),
        ),
        app.request(Method::PUT, &cancel, Some(&token), None),
    ];
    let killer = async {
        let waiting = eventually(Duration::from_secs(10), || async {
            db.sessions_waiting_for_a_lock().await == 4
        })
        .await;
        assert!(
            waiting,
            "all four requests reached PostgreSQL and wait there"
        );
        assert_eq!(db.terminate(REQUEST_WAITING_FOR_A_LOCK).await, 4);
    };
    let (answers, ()) = tokio::join!(futures_util::future::join_all(in_flight), killer);
    for (i, res) in answers.into_iter().enumerate() {
        assert_retryable_503(res, &format!("request {i}")).await;
    }

    db.terminate("query LIKE '%pg_sleep(60)%'").await;
    let _ = locker.wait().await;
    let (status, fetched) = app.order(&token, order).await;
    assert_eq!(
        (status, &fetched["status"]),
        (StatusCode::OK, &json!("created"))
    );
    let (_, mine) = app
        .call(Method::GET, "/my-orders", Some(&token), None)
        .await;
    assert_eq!(
        mine.as_array().map(Vec::len),
        Some(1),
        "the killed POST created nothing"
    );
}

#[tokio::test]
async fn an_outage_under_load_answers_503_never_500_and_loses_nothing() {
    if !runs_on_this_store("kills PostgreSQL sessions") {
        return;
    }
    let app = spawn_app().await;
    let db = Database::of(&app.database_url);
    let admin = app.admin().await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(app.customer(&format!("c{i}@x.io")).await.0);
    }
    let load_for = Duration::from_secs(4);
    let clients = tokens.iter().map(|token| {
        let app = &app;
        async move {
            let mut statuses = BTreeMap::<u16, usize>::new();
            let mut acknowledged = Vec::new();
            let mut without_retry_after = 0;
            let deadline = tokio::time::Instant::now() + load_for;
            let mut n = 0;
            while tokio::time::Instant::now() < deadline {
                n += 1;
                let res = match n % 3 {
                    0 => {
                        app.request(Method::GET, "/my-orders", Some(token), None)
                            .await
                    }
                    1 => {
                        app.request(
                            Method::POST,
                            "/orders",
                            Some(token),
                            Some(json!({"item_description": format!("item {n}")})),
                        )
                        .await
                    }
                    _ => {
                        let id = acknowledged.last().copied().unwrap_or(1);
                        app.request(Method::GET, &format!("/orders/{id}"), Some(token), None)
                            .await
                    }
                };
                let status = res.status();
                *statuses.entry(status.as_u16()).or_default() += 1;
                if status == StatusCode::SERVICE_UNAVAILABLE
                    && !res.headers().contains_key("retry-after")
                {
                    without_retry_after += 1;
                }
                if status == StatusCode::CREATED {
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    acknowledged.push(body["id"].as_i64().expect("a created order has an id"));
                }
            }
            (statuses, acknowledged, without_retry_after)
        }
    });
    let outage = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        db.allow_connections(false).await;
        let until = tokio::time::Instant::now() + Duration::from_millis(1500);
        while tokio::time::Instant::now() < until {
            db.terminate("true").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        db.allow_connections(true).await;
    };
    let (results, ()) = tokio::join!(futures_util::future::join_all(clients), outage);

    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut acknowledged = Vec::new();
    for (s, a, without_retry_after) in results {
        assert_eq!(without_retry_after, 0, "every 503 says when to retry");
        for (status, count) in s {
            *statuses.entry(status).or_default() += count;
        }
        acknowledged.extend(a);
    }
    assert!(
        statuses.keys().all(|s| [200, 201, 404, 503].contains(s)),
        "only successes and 503s (404: an order id not yet created): {statuses:?}"
    );
    assert!(
        statuses.get(&503).copied().unwrap_or(0) > 0,
        "the outage was noticed: {statuses:?}"
    );
    assert!(
        statuses.get(&201).copied().unwrap_or(0) > 0,
        "work went on: {statuses:?}"
    );

    let recovered = eventually(Duration::from_secs(10), || async {
        app.call(Method::GET, "/my-orders", Some(&tokens[0]), None)
            .await
            .0
            == StatusCode::OK
    })
    .await;
    assert!(
        recovered,
        "the service answers again once PostgreSQL is back"
    );
    // Every page: the load creates more orders than one page holds.
    let (all, _) = app.every_page("/orders?limit=1000", &admin).await;
    let stored: std::collections::HashSet<i64> = all.into_iter().collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged orders lost: {lost:?}");
}
