//! One process loses Redis while the others keep it (a network partition, not a Redis
//! outage): no process may serve an order, or a list, older than an acknowledged write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::*;
use crate::server_process::ServerProcess;

/// A TCP proxy in front of Redis that the test can cut: from the cut on, every connection
/// through it, open or new, is held open and silent, as behind a dropped route.
struct CuttableProxy {
    url: String,
    cut: watch::Sender<bool>,
}

impl CuttableProxy {
    async fn to(redis_url: &str) -> Self {
        let (scheme, rest) = redis_url.split_once("://").expect("a Redis URL");
        let (authority, query) = rest.split_once('/').unwrap_or((rest, ""));
        let (credentials, upstream) = match authority.rsplit_once('@') {
            Some((credentials, address)) => (format!("{credentials}@"), address.to_owned()),
            None => (String::new(), authority.to_owned()),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let port = listener.local_addr().expect("bound address").port();
        // Over TLS the certificate is for `localhost`, so the proxy is reached by that name.
        let host = if scheme == "rediss" {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let url = format!("{scheme}://{credentials}{host}:{port}/{query}");
        let (cut, _) = watch::channel(false);
        let cut_seen = cut.subscribe();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream.clone(), cut_seen.clone()));
            }
        });
        Self { url, cut }
    }

    fn cut(&self) {
        self.cut.send_replace(true);
    }

    fn heal(&self) {
        self.cut.send_replace(false);
    }
}

async fn forward(mut client: TcpStream, upstream: String, mut cut: watch::Receiver<bool>) {
    if !*cut.borrow() {
        if let Ok(mut server) = TcpStream::connect(&upstream).await {
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
                _ = cut.wait_for(|cut| *cut) => {}
            }
        }
    }
    // Swallow whatever the client sends until it gives up: no answer, no reset.
    let mut sink = [0u8; 1024];
    while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
}

/// What a process that crashed between its commit and its cache update leaves behind: the
/// change and its event committed, and the old version in Redis.
async fn cancel_behind_the_service(app: &TestApp, id: i64) {
    app.sql_behind_the_service(&format!(
        "WITH changed AS (
             UPDATE orders SET status = 'cancelled', version = version + 1,
                    next_step_at = NULL, updated_at = now()
             WHERE id = {id} RETURNING id, version)
         INSERT INTO order_events (order_id, kind, from_status, to_status, actor, version)
         SELECT id, 'status_changed', 'created', 'cancelled', 'system', version FROM changed"
    ))
    .await;
}

/// A process on `database_url` caching in Redis at `redis_url` under `prefix`.
async fn cached_process(database_url: &str, redis_url: &str, prefix: &str) -> TestApp {
    let mut settings = settings(database_url, 3600.0);
    settings.cache.enabled = true;
    settings.cache.redis_url = Some(redis_url.into());
    settings.cache.key_prefix = prefix.to_owned();
    spawn_with(settings).await
}

fn status_of(order: &Value) -> &str {
    order["status"].as_str().unwrap_or("none")
}

async fn list_statuses(app: &TestApp, token: &str) -> Vec<(i64, String)> {
    let (status, body) = app
        .call(
            reqwest::Method::GET,
            "/my-orders?limit=100",
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .expect("a page")
        .iter()
        .map(|o| (o["id"].as_i64().unwrap_or(0), status_of(o).to_owned()))
        .collect()
}

struct Partitioned {
    cut_off: TestApp,
    connected: TestApp,
    proxy: CuttableProxy,
    redis_url: String,
    prefix: String,
    token: String,
    orders: Vec<i64>,
}

/// Two processes on one database and one Redis, the first through a proxy; five orders
/// cached as `created` by both, and the customer's list too; then the proxy is cut.
async fn partitioned() -> Partitioned {
    let database_url = fresh_database().await;
    let redis_url = shared_redis_url();
    let prefix = format!("partition-{}:", uuid::Uuid::new_v4().simple());
    let proxy = CuttableProxy::to(&redis_url).await;
    let cut_off = cached_process(&database_url, &proxy.url, &prefix).await;
    let connected = cached_process(&database_url, &redis_url, &prefix).await;
    let (token, _) = connected.customer("partition@example.com").await;
    let mut orders = Vec::new();
    for n in 0..5 {
        let order = connected.create_order(&token, &format!("Lamp {n}")).await;
        orders.push(order["id"].as_i64().expect("an id"));
    }
    for app in [&cut_off, &connected] {
        for &id in &orders {
            let (status, order) = app.order(&token, id).await;
            assert_eq!((status, status_of(&order)), (StatusCode::OK, "created"));
        }
        assert!(list_statuses(app, &token)
            .await
            .iter()
            .all(|(_, s)| s == "created"));
    }
    proxy.cut();
    Partitioned {
        cut_off,
        connected,
        proxy,
        redis_url,
        prefix,
        token,
        orders,
    }
}

#[tokio::test]
async fn a_cancel_through_a_process_cut_off_from_redis_is_never_read_stale_through_another() {
    if !runs_on_this_store("a partition between processes needs two processes on one database") {
        return;
    }
    let p = partitioned().await;
    let mut stale = Vec::new();
    let mut cancel_times = Vec::new();
    for &id in &p.orders {
        let started = Instant::now();
        let cancelled = p.cut_off.cancel(&p.token, id).await;
        cancel_times.push(started.elapsed());
        assert_eq!(status_of(&cancelled), "cancelled");
        for (name, app) in [
            ("the other process", &p.connected),
            ("the writer", &p.cut_off),
        ] {
            let (status, order) = app.order(&p.token, id).await;
            assert_eq!(status, StatusCode::OK);
            if status_of(&order) != "cancelled" {
                stale.push(format!("order {id} through {name}: {}", status_of(&order)));
            }
        }
        let listed = list_statuses(&p.connected, &p.token).await;
        if listed.iter().any(|(o, s)| *o == id && s != "cancelled") {
            stale.push(format!(
                "order {id} in the other process's list: {listed:?}"
            ));
        }
    }
    // Later reads too, after the other process has had every chance to refill its cache.
    for &id in &p.orders {
        let (_, order) = p.connected.order(&p.token, id).await;
        if status_of(&order) != "cancelled" {
            stale.push(format!("order {id} read again: {}", status_of(&order)));
        }
    }
    assert!(
        stale.is_empty(),
        "stale reads after acknowledged cancels: {stale:?}"
    );
    eprintln!("cancels through the cut-off process took {cancel_times:?}");

    // Back on the network, the cut-off process still answers the newest version.
    p.proxy.heal();
    for &id in &p.orders {
        let (_, order) = p.cut_off.order(&p.token, id).await;
        assert_eq!(
            status_of(&order),
            "cancelled",
            "order {id} after the partition healed"
        );
    }
}

#[tokio::test]
async fn a_change_whose_writer_never_reached_redis_is_served_within_the_feed_lease() {
    if !runs_on_this_store("the change feed between processes is PostgreSQL's") {
        return;
    }
    let p = partitioned().await;
    p.proxy.heal();
    let id = p.orders[0];
    cancel_behind_the_service(&p.connected, id).await;
    let token = Arc::new(p.token.clone());
    for app in [&p.connected, &p.cut_off] {
        let served = eventually(Duration::from_secs(3), || {
            let token = token.clone();
            async move {
                let (_, order) = app.order(&token, id).await;
                status_of(&order) == "cancelled"
            }
        })
        .await;
        assert!(served, "the committed cancel was never served");
        let listed = list_statuses(app, &p.token).await;
        assert!(
            listed.iter().any(|(o, s)| *o == id && s == "cancelled"),
            "{listed:?}"
        );
    }
}

#[tokio::test]
async fn a_process_started_after_a_change_redis_missed_does_not_serve_what_it_replaced() {
    if !runs_on_this_store("the change feed between processes is PostgreSQL's") {
        return;
    }
    let p = partitioned().await;
    p.proxy.heal();
    let (changed, untouched) = (p.orders[0], p.orders[1]);
    cancel_behind_the_service(&p.connected, changed).await;
    let newcomer = ServerProcess::start_with(
        &p.connected.database_url,
        "3600",
        &[
            ("CACHE_ENABLED", "true"),
            ("REDIS_URL", &p.redis_url),
            ("CACHE_KEY_PREFIX", &p.prefix),
        ],
    )
    .await;
    let through_newcomer = TestApp::new(newcomer.base.clone(), &p.connected.database_url);
    // Once the newcomer answers from Redis, it has read the change feed…
    let trusting = eventually(Duration::from_secs(5), || async {
        let (status, _) = through_newcomer.order(&p.token, untouched).await;
        status == StatusCode::OK
            && newcomer
                .metric("trachios_cache_operations_total", r#"result="hit""#)
                .await
                > 0.0
    })
    .await;
    assert!(trusting, "the new process never served from the cache");
    // …and knows of the change made before it started, though Redis still holds `created`.
    let (_, order) = through_newcomer.order(&p.token, changed).await;
    assert_eq!(status_of(&order), "cancelled");
}
