//! The tracking benchmark: memory of idle event streams, how long a committed change takes
//! to reach its streams, and the lifecycle's throughput with a follower reading its events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::{watch, Semaphore};
use trachios_auth::JwtTokenService;
use trachios_domain::ports::{ChangeFeed, SystemClock, TokenService};
use trachios_domain::services::{LifecycleService, NoCache};
use trachios_domain::{Email, FeedEvent, FeedScope, Name, Role, User, UserId};
use trachios_memory::ChangeHub;
use trachios_postgres::{
    build_pool, ChangeFollower, FollowerSettings, PgOrderRepository, PoolSettings,
};

use super::{insert_orders, percentile, scratch_database, sql};
use crate::process::ReleaseServer;

const SECRET: &str = "bench-secret-bench-secret-bench-secret";
const IDLE_STREAMS: usize = 10_000;
const SUBSCRIBERS: usize = 1_000;
/// Orders falling due at 1,000/s for this long.
const STEADY_SECONDS: usize = 10;

pub(super) async fn run() -> anyhow::Result<()> {
    idle_streams().await?;
    delivery().await?;
    lifecycle_with_follower().await
}

/// `count` customers (ids returned) with a token each, minted as the server would.
async fn customers(url: &str, count: usize) -> anyhow::Result<Vec<(i64, String)>> {
    sql(
        url,
        &format!(
            "INSERT INTO users (name, email, password_hash)
             SELECT 'Watcher', 'w' || n || '@x.io', 'x' FROM generate_series(1, {count}) AS n"
        ),
    )
    .await?;
    let out = std::process::Command::new("psql")
        .args([
            url,
            "-Atc",
            "SELECT id FROM users WHERE email LIKE 'w%@x.io' ORDER BY id",
        ])
        .output()
        .context("psql")?;
    let tokens = JwtTokenService::new(SECRET.as_bytes())?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let id: i64 = line.trim().parse()?;
            let user = User {
                id: UserId::parse(id)?,
                name: Name::parse("Watcher")?,
                email: Email::parse(&format!("w{id}@x.io"))?,
                role: Role::Customer,
                disabled: false,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            };
            Ok((
                id,
                tokens.issue(&user, Utc::now())?.token.expose().to_owned(),
            ))
        })
        .collect()
}

/// Opens a `/my-orders/stream` per token (`per_token` each), at most 200 opening at once;
/// each stream hands every event's data line to `on_event` until `stop` turns true.
async fn open_streams(
    base: &str,
    tokens: &[(i64, String)],
    per_token: usize,
    on_event: Arc<dyn Fn(&str) + Send + Sync>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let client = reqwest::Client::builder().build()?;
    let opening = Arc::new(Semaphore::new(200));
    let mut opened = Vec::new();
    for (_, token) in tokens {
        for _ in 0..per_token {
            let permit = opening.clone().acquire_owned().await?;
            let (client, url, token) = (
                client.clone(),
                format!("{base}/my-orders/stream"),
                token.clone(),
            );
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let (on_event, mut stop) = (on_event.clone(), stop.clone());
            opened.push((
                ready_rx,
                tokio::spawn(async move {
                    let response = client.get(url).bearer_auth(token).send().await;
                    drop(permit);
                    let mut response = match response {
                        Ok(r) if r.status().is_success() => r,
                        Ok(r) => {
                            ready_tx.send(Err(format!("answered {}", r.status()))).ok();
                            return;
                        }
                        Err(e) => {
                            ready_tx.send(Err(e.to_string())).ok();
                            return;
                        }
                    };
                    ready_tx.send(Ok(())).ok();
                    let mut buffer = String::new();
                    loop {
                        tokio::select! {
                            chunk = response.chunk() => match chunk {
                                Ok(Some(bytes)) => {
                                    buffer.push_str(&String::from_utf8_lossy(&bytes));
                                    while let Some(end) = buffer.find("\n\n") {
                                        let block: String = buffer.drain(..end + 2).collect();
                                        if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                                            on_event(data);
                                        }
                                    }
                                }
                                _ => return,
                            },
                            _ = stop.changed() => return,
                        }
                    }
                }),
            ));
        }
    }
    let mut tasks = Vec::with_capacity(opened.len());
    for (ready, task) in opened {
        ready
            .await
            .context("a stream task ended early")?
            .map_err(|e| anyhow::anyhow!("opening a stream: {e}"))?;
        tasks.push(task);
    }
    Ok(tasks)
}

async fn idle_streams() -> anyhow::Result<()> {
    println!("== {IDLE_STREAMS} idle event streams on one process (1,250 users x 8 streams); target < 100 MiB above idle");
    let url = scratch_database().await?;
    let tokens = customers(&url, IDLE_STREAMS / 8).await?;
    let reference = ReleaseServer::bare_actix("").await?;
    let (bare, _) = hold_streams(reference, &tokens).await?;
    let server = ReleaseServer::start(
        &url,
        &[
            ("JWT_SECRET", SECRET),
            ("CACHE_ENABLED", "false"),
            ("ORDER_STEP_SECONDS", "15"),
        ],
    )
    .await?;
    let (ours, opened_in) = hold_streams(server, &tokens).await?;
    let per_stream = |kib: u64| kib as f64 / IDLE_STREAMS as f64;
    println!(
        "bare actix-web handler holding {IDLE_STREAMS} streams: +{:.1} MiB ({:.1} KiB per stream)",
        bare as f64 / 1024.0,
        per_stream(bare)
    );
    println!(
        "trachios holding {IDLE_STREAMS} /my-orders streams: +{:.1} MiB ({:.1} KiB per stream, {:.1} KiB above bare actix; opened in {:.1} s)",
        ours as f64 / 1024.0,
        per_stream(ours),
        per_stream(ours.saturating_sub(bare)),
        opened_in.as_secs_f64(),
    );
    Ok(())
}

/// Opens the streams on `server`, holds them for 3 s, and returns how much its resident
/// memory grew and how long opening took.
async fn hold_streams(
    mut server: ReleaseServer,
    tokens: &[(i64, String)],
) -> anyhow::Result<(u64, Duration)> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss_kib()?;
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let streams = open_streams(&server.base, tokens, 8, Arc::new(|_: &str| {}), stopped).await?;
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let holding = server.rss_kib()?;
    stop.send(true).ok();
    for s in streams {
        s.await.ok();
    }
    server.stop();
    Ok((holding.saturating_sub(idle), opened_in))
}

/// 1,000 customers each watch their orders while the lifecycle moves 1,000 orders/s; each
/// event's delay is its arrival minus the order's `updated_at` (the tick's clock, taken
/// before the statement ran, so the figure includes the statement itself).
async fn delivery() -> anyhow::Result<()> {
    let total = SUBSCRIBERS * STEADY_SECONDS;
    println!("== commit to delivery: {SUBSCRIBERS} /my-orders streams while the lifecycle advances 1,000 orders/s for {STEADY_SECONDS} s; target p99 < 1 s");
    let url = scratch_database().await?;
    let tokens = customers(&url, SUBSCRIBERS).await?;
    let first = tokens.first().map(|t| t.0).context("customers")?;
    // Order n belongs to customer first + n % 1000 and falls due 4 s + n ms from now.
    sql(
        &url,
        &format!(
            "INSERT INTO orders (customer_id, item_description, next_step_at)
             SELECT {first} + n % {SUBSCRIBERS}, 'Parcel', now() + interval '4 seconds' + n * interval '1 millisecond'
             FROM generate_series(1, {total}) AS n;
             ANALYZE orders;"
        ),
    )
    .await?;
    let mut server = ReleaseServer::start(
        &url,
        &[
            ("JWT_SECRET", SECRET),
            ("CACHE_ENABLED", "false"),
            ("ORDER_STEP_SECONDS", "3600"),
        ],
    )
    .await?;
    let delays = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total)));
    let record = {
        let delays = delays.clone();
        Arc::new(move |data: &str| {
            let arrived = Utc::now();
            let updated = serde_json::from_str::<serde_json::Value>(data)
                .ok()
                .and_then(|v| v["updated_at"].as_str().map(str::to_owned))
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
            if let Some(updated) = updated {
                let ms = (arrived - updated.with_timezone(&Utc))
                    .num_microseconds()
                    .unwrap_or(0) as f64
                    / 1e3;
                delays.lock().unwrap_or_else(|p| p.into_inner()).push(ms);
            }
        })
    };
    let (stop, stopped) = watch::channel(false);
    let streams = open_streams(&server.base, &tokens, 1, record, stopped).await?;
    let deadline = Instant::now() + Duration::from_secs(4 + STEADY_SECONDS as u64 + 10);
    while delays.lock().map(|d| d.len()).unwrap_or(0) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.send(true).ok();
    for s in streams {
        s.await.ok();
    }
    server.stop();
    let mut delays = delays.lock().map(|d| d.clone()).unwrap_or_default();
    delays.sort_by(f64::total_cmp);
    println!(
        "{} of {total} changes delivered; delay p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        delays.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(f64::NAN),
    );
    Ok(())
}

/// The lifecycle backlog as in `bench lifecycle`, alone and then while a follower in this
/// process reads every event and a subscriber of every order receives each change.
async fn lifecycle_with_follower() -> anyhow::Result<()> {
    println!("== lifecycle backlog of 100k due orders, 1 worker, batches of 1000; target >= 10,000 transitions/s");
    let url = scratch_database().await?;
    insert_orders(&url, 100_000, "now() - interval '1 second'").await?;
    let pool = build_pool(&url, &PoolSettings::default())?;
    let service = LifecycleService::new(
        Arc::new(PgOrderRepository::new(pool.clone())),
        Arc::new(NoCache),
        Arc::new(SystemClock),
        chrono::Duration::hours(1),
        1000,
    );
    for following in [false, true] {
        sql(
            &url,
            "UPDATE orders SET status = 'created', next_step_at = now() - interval '1 second'",
        )
        .await?;
        sql(&url, "VACUUM ANALYZE orders").await?;
        let (stop, stopped) = watch::channel(false);
        let hub = ChangeHub::new();
        let mut heard = None;
        if following {
            let follower = ChangeFollower::new(
                pool.clone(),
                Arc::new(hub.clone()),
                FollowerSettings::default(),
            );
            tokio::spawn(follower.run(stopped));
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut all = hub.subscribe(FeedScope::All);
            heard = Some(tokio::spawn(async move {
                let mut changes = 0usize;
                loop {
                    match all.next(Duration::from_secs(2)).await {
                        FeedEvent::Changed(_) => changes += 1,
                        FeedEvent::Gap => {}
                        FeedEvent::Idle | FeedEvent::Closed => return changes,
                    }
                }
            }));
        }
        let started = Instant::now();
        let mut moved = 0;
        loop {
            match service.tick().await? {
                0 => break,
                n => moved += n,
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let received = match heard {
            Some(task) => format!("; the subscriber received {} changes", task.await?),
            None => String::new(),
        };
        stop.send(true).ok();
        println!(
            "{}: {moved} transitions in {secs:.2} s = {:.0} transitions/s{received}",
            if following {
                "with a follower and a subscriber of every order"
            } else {
                "alone"
            },
            moved as f64 / secs
        );
    }
    Ok(())
}
