//! The webhooks benchmark: what subscribing costs the lifecycle, and how fast the server
//! delivers to a local receiver.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use trachios_postgres::{build_pool, PgOrderRepository, PoolSettings};

use trachios_sqlite::SqliteOrderRepository;

use super::stores::{drain, lifecycle, sqlite_file, ScratchDir};
use super::{count, insert_orders, scratch_database, sql};
use crate::process::ReleaseServer;

/// Moves every due order one step with one in-process lifecycle worker; transitions/s.
async fn drain_postgres(url: &str) -> anyhow::Result<(usize, f64)> {
    let pool = build_pool(url, &PoolSettings::default())?;
    drain(lifecycle(Arc::new(PgOrderRepository::new(pool)))?).await
}

/// A receiver that answers 204 at once and counts; returns its URL and the count.
fn receiver() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    let received = Arc::new(AtomicU64::new(0));
    let counter = web::Data::from(received.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(counter.clone())
            .default_service(web::to(
                |n: web::Data<AtomicU64>, _body: web::Bytes| async move {
                    n.fetch_add(1, Ordering::Relaxed);
                    HttpResponse::NoContent().finish()
                },
            ))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Ok((format!("http://127.0.0.1:{port}/hook"), received))
}

fn subscribe_sql(url: &str) -> String {
    format!(
        "INSERT INTO webhooks (url, secret, order_created, status_changed, created_at)
         VALUES ('{url}', 'bench-secret', true, true, now())"
    )
}

pub(super) async fn run() -> anyhow::Result<()> {
    println!("== webhooks benchmark (lifecycle batch 1000, one worker)");
    let (hook_url, received) = receiver()?;

    // The lifecycle's throughput on a 100k backlog, without and then with a subscriber:
    // with one, each transition also writes its outbox rows in the same statement.
    for subscribed in [false, true] {
        let url = scratch_database().await?;
        if subscribed {
            sql(&url, &subscribe_sql(&hook_url)).await?;
        }
        insert_orders(&url, 100_000, "now() - interval '1 second'").await?;
        sql(&url, "VACUUM ANALYZE orders").await?;
        let (moved, rate) = drain_postgres(&url).await?;
        let deliveries = count(&url, "SELECT count(*) FROM webhook_deliveries").await?;
        println!(
            "lifecycle, backlog 100k due, PostgreSQL, {}: {moved} transitions at {rate:.0} transitions/s; {deliveries} deliveries recorded",
            if subscribed { "one webhook subscribed" } else { "no webhook" }
        );
    }

    // The same on the embedded store, where the outbox trigger runs per row.
    let scratch = ScratchDir::new()?;
    for subscribed in [false, true] {
        let store = sqlite_file(
            &scratch.file(&format!("webhooks-{subscribed}.db")),
            100_000,
            -1,
        )
        .await?;
        if subscribed {
            store
                .execute_batch(
                    "INSERT INTO webhooks (url, secret, order_created, status_changed, created_at)
                     VALUES ('http://127.0.0.1:9/', 'bench-secret', 1, 1, 0)"
                        .to_owned(),
                )
                .await?;
        }
        let (moved, rate) = drain(lifecycle(Arc::new(SqliteOrderRepository::new(
            store.clone(),
        )))?)
        .await?;
        println!(
            "lifecycle, backlog 100k due, SQLite, {}: {moved} transitions at {rate:.0} transitions/s",
            if subscribed { "one webhook subscribed" } else { "no webhook" }
        );
    }

    // Delivery: 20k events waiting for one endpoint, sent by the release server's workers.
    let url = scratch_database().await?;
    sql(&url, &subscribe_sql(&hook_url)).await?;
    insert_orders(&url, 20_000, "now() - interval '1 second'").await?;
    drain_postgres(&url).await?;
    let before = received.load(Ordering::Relaxed);
    let mut server = ReleaseServer::start(
        &url,
        &[
            ("ORDER_STEP_SECONDS", "3600"),
            ("CACHE_ENABLED", "false"),
            ("WEBHOOK_ALLOW_PRIVATE", "true"),
        ],
    )
    .await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    while received.load(Ordering::Relaxed) - before < 20_000 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let got = received.load(Ordering::Relaxed) - before;
    // Wait for the last batch to be recorded before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = count(
        &url,
        "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'",
    )
    .await?;
    server.stop();
    println!(
        "delivery, 20k events to a local receiver, one server process (2 workers × batch 100): {got} received in {secs:.2} s = {:.0} events/s; {delivered} recorded delivered (from server start, so including its start-up)",
        got as f64 / secs
    );
    Ok(())
}
