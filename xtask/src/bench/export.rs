//! `cargo xtask bench export`: `GET /orders/export.csv` of 1,000,000 orders — rows a
//! second and how much the server's memory grows meanwhile — and cached `GET /orders/{id}`
//! while exports run, next to the same reads alone in the same rounds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use serde_json::json;

use super::rounds::{median, median_and_spread, ROUNDS, SECONDS};
use super::wrk::{self, WrkFigures, WrkRun};
use super::{admin_token, buyer_and_product, count, place_order, scratch_database, sql};
use crate::process::ReleaseServer;

const ORDERS: i64 = 1_000_000;
const CUSTOMERS: i64 = 1_000;
/// Readers of the cached order while exports run.
const CONNECTIONS: u32 = 16;

/// One export, read to its end: rows and seconds.
async fn export(client: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut res = client
        .get(format!("{base}/orders/export.csv"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    // No cell of this catalog holds a line break: lines are rows.
    let mut lines = 0u64;
    while let Some(chunk) = res.chunk().await? {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((lines.saturating_sub(1), started.elapsed().as_secs_f64()))
}

pub(super) async fn run() -> anyhow::Result<()> {
    if !wrk::installed() {
        bail!("this benchmark drives the server with wrk: apt-get install wrk");
    }
    let url = scratch_database().await?;
    let server = ReleaseServer::start(
        &url,
        &[
            ("REDIS_URL", crate::services::test_redis_url().as_str()),
            ("ORDER_STEP_SECONDS", "3600"),
            ("LOGIN_RATE_PER_MINUTE", "0"),
            ("AUTH_RATE_PER_MINUTE", "0"),
        ],
    )
    .await?;
    let base = server.base.clone();
    let admin = admin_token(&base).await?;
    let client = reqwest::Client::new();
    // One order with lines as the API stores it, then copies: half with lines, half free
    // text with a comma and quotes for the writer to escape.
    let buyer = buyer_and_product(&base, &admin, ("MUG-01", "Enamel mug", 1000)).await?;
    let first = place_order(
        &client,
        &base,
        &buyer,
        &json!({"lines": [{"sku": "MUG-01", "quantity": 2}], "note": "gift"}),
    )
    .await?;
    sql(
        &url,
        &format!(
            "INSERT INTO users (name, email, password_hash)
             SELECT 'Customer ' || g, 'customer' || g || '@x.io', 'x' FROM generate_series(1, {CUSTOMERS}) g;
             INSERT INTO orders (customer_id, item_description, status, version, next_step_at,
                                 created_at, updated_at, lines, currency, total, note)
             SELECT (SELECT min(id) FROM users WHERE email LIKE 'customer%') + g % {CUSTOMERS},
                    CASE WHEN g % 2 = 0 THEN o.item_description ELSE 'Desk, oak \"large\"' END,
                    'delivered', 3, NULL, o.created_at, o.updated_at,
                    CASE WHEN g % 2 = 0 THEN o.lines ELSE '[]' END,
                    CASE WHEN g % 2 = 0 THEN o.currency END,
                    CASE WHEN g % 2 = 0 THEN o.total END, o.note
             FROM orders o CROSS JOIN generate_series(1, {ORDERS} - 1) g WHERE o.id = {first};
             ANALYZE orders; ANALYZE users;"
        ),
    )
    .await?;
    let listed = count(&url, "SELECT count(*) FROM orders").await?;
    if listed != ORDERS {
        bail!("the scratch database holds {listed} orders, not {ORDERS}");
    }

    // Alone: rows a second, and the memory the export took beyond what the server held.
    let mut alone = Vec::with_capacity(ROUNDS);
    let mut growth_kib = 0u64;
    for _ in 0..ROUNDS {
        super::quiet::settle();
        let before = server.rss_kib()?;
        server.reset_peak_rss()?;
        let (rows, seconds) = export(&client, &base, &admin).await?;
        if rows != ORDERS as u64 {
            bail!("the export had {rows} rows, not {ORDERS}");
        }
        growth_kib = growth_kib.max(server.peak_rss_kib()?.saturating_sub(before));
        alone.push(rows as f64 / seconds);
    }

    // Cached reads of one order, alone and while exports run back to back.
    let origin = base.trim_end_matches("/api/v1").to_owned();
    let reads = {
        let (origin, admin) = (origin.clone(), admin.clone());
        move || -> anyhow::Result<WrkFigures> {
            WrkRun {
                origin: &origin,
                connections: CONNECTIONS,
                seconds: SECONDS,
                token: Some(&admin),
                script: wrk::get(&format!("/api/v1/orders/{first}")),
            }
            .run()
        }
    };
    let mut rounds = Vec::with_capacity(ROUNDS);
    let mut during_rates = Vec::new();
    for _ in 0..ROUNDS {
        super::quiet::settle();
        let reference = reads()?;
        super::quiet::settle();
        let stop = Arc::new(AtomicBool::new(false));
        let exporting = {
            let (stop, client, base, admin) =
                (stop.clone(), client.clone(), base.clone(), admin.clone());
            tokio::spawn(async move {
                let mut rates = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    // The export under way when the reads end is dropped: a client going away.
                    let (rows, seconds) = export(&client, &base, &admin).await?;
                    rates.push(rows as f64 / seconds);
                }
                anyhow::Ok(rates)
            })
        };
        // Exports start first, so that every read of the window has one under way.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let during = tokio::task::spawn_blocking({
            let reads = reads.clone();
            move || reads()
        })
        .await??;
        stop.store(true, Ordering::Relaxed);
        during_rates.extend(exporting.await??);
        rounds.push((during, reference));
    }
    drop(server);

    let ratios: Vec<f64> = rounds.iter().map(|(d, r)| d.p99_ms / r.p99_ms).collect();
    println!();
    println!("orders export (PostgreSQL + Redis, {ORDERS} orders, {ROUNDS} rounds; medians)");
    println!(
        "  GET /orders/export.csv alone         {:>9.0} rows/s (target >= 100000), server RSS growth {:.1} MiB (target < 50)",
        median(alone),
        growth_kib as f64 / 1024.0
    );
    println!(
        "  cached GET /orders/{{id}} during exports p99 {:.2} ms, {:.0} req/s ({} exports finished meanwhile, median {:.0} rows/s)",
        median(rounds.iter().map(|(d, _)| d.p99_ms).collect()),
        median(rounds.iter().map(|(d, _)| d.requests_per_second).collect()),
        during_rates.len(),
        median(during_rates),
    );
    println!(
        "    vs alone p99 {:.2} ms, {:.0} req/s: p99 ratio {} (target <= 1.50)",
        median(rounds.iter().map(|(_, r)| r.p99_ms).collect()),
        median(rounds.iter().map(|(_, r)| r.requests_per_second).collect()),
        median_and_spread(&ratios),
    );
    Ok(())
}
