//! The lifecycle benchmark: a backlog of due orders, steady load, and the server's memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trachios_domain::ports::SystemClock;
use trachios_domain::services::{LifecycleService, NoCache};
use trachios_postgres::{build_pool, PgOrderRepository, PoolSettings};

use super::{count, insert_orders, percentile, scratch_database, sql};
use crate::process::ReleaseServer;

fn lifecycle_service(url: &str, step: Duration) -> anyhow::Result<LifecycleService> {
    let pool = build_pool(url, &PoolSettings::default())?;
    Ok(LifecycleService::new(
        Arc::new(PgOrderRepository::new(pool)),
        Arc::new(NoCache),
        Arc::new(SystemClock),
        chrono::Duration::from_std(step)?,
        1000,
    ))
}

pub(super) async fn run() -> anyhow::Result<()> {
    println!("== lifecycle benchmark (batch 1000, one worker unless stated)");

    // Throughput: a backlog of 100k due orders, each advanced once.
    let url = scratch_database().await?;
    insert_orders(&url, 100_000, "now() - interval '1 second'").await?;
    for workers in [1usize, 2] {
        sql(
            &url,
            "UPDATE orders SET status = 'created', next_step_at = now() - interval '1 second'",
        )
        .await?;
        sql(&url, "VACUUM ANALYZE orders").await?;
        let service = lifecycle_service(&url, Duration::from_secs(3600))?;
        let started = Instant::now();
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let service = service.clone();
                tokio::spawn(async move {
                    let mut moved = 0;
                    loop {
                        match service.tick().await {
                            Ok(0) => return Ok(moved),
                            Ok(n) => moved += n,
                            Err(e) => return Err(e),
                        }
                    }
                })
            })
            .collect();
        let mut moved = 0;
        for t in tasks {
            moved += t.await??;
        }
        let secs = started.elapsed().as_secs_f64();
        println!("backlog 100k due, {workers} worker(s): {moved} transitions in {secs:.2} s = {:.0} transitions/s", moved as f64 / secs);
    }

    // Lag at a steady 1,000 transitions/s: 10k orders falling due evenly over 10 s, with
    // the worker's real polling policy for the dev step (15 s → poll every 250 ms).
    let url = scratch_database().await?;
    insert_orders(
        &url,
        10_000,
        "now() + interval '2 seconds' + n * interval '1 millisecond'",
    )
    .await?;
    let step = Duration::from_secs(15);
    let service = lifecycle_service(&url, step)?;
    let poll = trachios_server::lifecycle::poll_interval(step);
    let mut lags = Vec::with_capacity(10_000);
    let mut tick_ms = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(14);
    while lags.len() < 10_000 && Instant::now() < deadline {
        let t0 = Instant::now();
        let moved: Vec<f64> = service
            .tick_orders()
            .await?
            .iter()
            .filter_map(|o| o.item_description.as_str().parse::<f64>().ok())
            .collect();
        let done = chrono::Utc::now().timestamp_millis() as f64;
        tick_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        for due in &moved {
            lags.push(done - due);
        }
        if moved.len() < 1000 {
            tokio::time::sleep(poll).await;
        }
    }
    lags.sort_by(f64::total_cmp);
    tick_ms.sort_by(f64::total_cmp);
    println!(
        "steady 1,000 transitions/s for 10 s, poll {} ms: {} moved; lag (done - due) p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; tick p99 {:.1} ms",
        poll.as_millis(),
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN),
        percentile(&tick_ms, 0.99),
    );

    // Memory: the release server idle, then with 100k orders in flight and moving.
    let url = scratch_database().await?;
    let mut server = ReleaseServer::start(
        &url,
        &[("ORDER_STEP_SECONDS", "5"), ("CACHE_ENABLED", "false")],
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = server.rss_kib()?;
    insert_orders(
        &url,
        100_000,
        "now() + (n % 5000) * interval '1 millisecond'",
    )
    .await?;
    let mut peak = idle;
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until {
        peak = peak.max(server.rss_kib()?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events: i64 = count(
        &url,
        "SELECT count(*) FROM order_events WHERE actor = 'system'",
    )
    .await?;
    server.stop();
    println!(
        "server RSS: idle {:.1} MiB; with 100k orders in flight (step 5 s, {} steps taken while sampling) peak {:.1} MiB; growth {:.1} MiB",
        idle as f64 / 1024.0,
        events,
        peak as f64 / 1024.0,
        (peak - idle) as f64 / 1024.0
    );
    Ok(())
}
