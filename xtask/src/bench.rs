//! `cargo xtask bench [lifecycle|cache]`: benchmarks that print figures. They build and
//! start the release server, and use a scratch database `trachios_bench`.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use tokio::runtime::Runtime;
use trachios_domain::ports::SystemClock;
use trachios_domain::services::{LifecycleService, NoCache};
use trachios_postgres::{build_pool, PgOrderRepository, PoolSettings};

const BENCH_DB: &str = "trachios_bench";
/// Orders in the cache benchmark's database; the cold scenario reads each once.
const ORDERS: i64 = 100_000;

pub fn run(runtime: &Runtime, which: Option<&str>) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        // The benchmark drives the lifecycle in this process: measure optimised code.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["run", "--quiet", "--release", "-p", "xtask", "--", "bench"])
            .args(which)
            .status()
            .context("re-running the benchmark in release mode")?;
        if !status.success() {
            bail!("the benchmark failed");
        }
        return Ok(());
    }
    match which {
        None => {
            runtime.block_on(lifecycle())?;
            runtime.block_on(cache())
        }
        Some("lifecycle") => runtime.block_on(lifecycle()),
        Some("cache") => runtime.block_on(cache()),
        Some(other) => bail!("unknown benchmark {other:?}: lifecycle or cache"),
    }
}

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A freshly created, migrated scratch database with one customer (id 1).
async fn scratch_database() -> anyhow::Result<String> {
    let server = server_url();
    trachios_postgres::drop_database(&server, BENCH_DB).await?;
    trachios_postgres::create_database_if_missing(&server, BENCH_DB).await?;
    let url = trachios_postgres::with_database(&server, BENCH_DB);
    trachios_postgres::migrate(&url).await?;
    sql(
        &url,
        "INSERT INTO users (name, email, password_hash) VALUES ('Bench', 'bench@x.io', 'x')",
    )
    .await?;
    Ok(url)
}

async fn sql(url: &str, statements: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to PostgreSQL")?;
    conn.batch_execute(statements)
        .await
        .context("running benchmark SQL")?;
    Ok(())
}

/// Inserts `count` orders of customer 1 whose first step is due at `due_sql` (an SQL
/// expression of `n`, the row number); the due time is kept in the item for lag figures.
async fn insert_orders(url: &str, count: usize, due_sql: &str) -> anyhow::Result<()> {
    sql(
        url,
        &format!(
            "INSERT INTO orders (customer_id, item_description, next_step_at)
             SELECT 1, (extract(epoch FROM d) * 1000)::bigint::text, d
             FROM (SELECT {due_sql} AS d FROM generate_series(1, {count}) AS n) due;
             ANALYZE orders;"
        ),
    )
    .await
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

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

async fn lifecycle() -> anyhow::Result<()> {
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

async fn count(url: &str, query: &str) -> anyhow::Result<i64> {
    let out = Command::new("psql")
        .args([url, "-Atc", query])
        .output()
        .context("psql")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(-1))
}

/// The release server binary as a child process on a free port.
struct ReleaseServer {
    child: Child,
    base: String,
}

impl ReleaseServer {
    async fn start(database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Command::new(&cargo)
            .args(["build", "--release", "-q", "-p", "trachios-server"])
            .status()?;
        if !built.success() {
            bail!("building the release server failed");
        }
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut cmd = Command::new(format!("{target}/release/trachios-server"));
        cmd.env("APP_ENV", "test")
            .env("DATABASE_URL", database_url)
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().context("starting the release server")?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}/api/v1"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("{}/health", server.base))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("the release server did not start");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("reading VmRSS")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A name, the server's environment, and whether every request reads a different order.
type Scenario = (&'static str, Vec<(&'static str, String)>, bool);

async fn cache() -> anyhow::Result<()> {
    println!("== cache benchmark: GET /orders/{{id}}, 50 concurrent connections, 8 s per scenario");
    let url = scratch_database().await?;
    insert_orders(&url, ORDERS as usize, "now() + interval '1 day'").await?;
    let redis =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let scenarios: [Scenario; 4] = [
        (
            "warm (one cached order)",
            vec![
                ("REDIS_URL", redis.clone()),
                ("CACHE_KEY_PREFIX", format!("bench-{}:", std::process::id())),
            ],
            false,
        ),
        (
            "cold (every read a miss, then filled)",
            vec![
                ("REDIS_URL", redis.clone()),
                (
                    "CACHE_KEY_PREFIX",
                    format!("bench-cold-{}:", std::process::id()),
                ),
            ],
            true,
        ),
        ("disabled", vec![("CACHE_ENABLED", "false".into())], false),
        (
            "redis down",
            vec![("REDIS_URL", "redis://127.0.0.1:1/".into())],
            false,
        ),
    ];
    for (name, env, distinct) in scenarios {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut server = ReleaseServer::start(&url, &env).await?;
        let token = admin_token(&server.base).await?;
        let figures = load(&server.base, &token, distinct).await?;
        server.stop();
        println!("{name:<40} {figures}");
    }
    Ok(())
}

async fn admin_token(base: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let email = "bench-admin@x.io";
    // The bench customer's orders are read as an admin, who may read every order.
    let _ = client
        .post(format!("{base}/register"))
        .json(&serde_json::json!({"name": "Bench", "email": email, "password": "bench-password"}))
        .send()
        .await?;
    // Promote through the database: there is deliberately no API for it.
    let url = trachios_postgres::with_database(&server_url(), BENCH_DB);
    sql(
        &url,
        &format!("UPDATE users SET role = 'admin' WHERE email = '{email}'"),
    )
    .await?;
    let login: serde_json::Value = client
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"email": email, "password": "bench-password"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"].as_str().context("login failed")?.to_owned())
}

/// Load from wrk when it is installed (it leaves more of the two cores to the server),
/// else from the built-in client.
async fn load(base: &str, token: &str, distinct_orders: bool) -> anyhow::Result<String> {
    if Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return wrk(base, token, distinct_orders);
    }
    builtin_load(base, token, distinct_orders).await
}

fn wrk(base: &str, token: &str, distinct_orders: bool) -> anyhow::Result<String> {
    let script = std::env::temp_dir().join("trachios-bench.lua");
    let body = if distinct_orders {
        format!("local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, \"/api/v1/orders/\" .. (n % {ORDERS} + 1))\nend\n")
    } else {
        "request = function() return wrk.format(nil, \"/api/v1/orders/1\") end\n".to_owned()
    };
    std::fs::write(&script, body)?;
    let out = Command::new("wrk")
        .args([
            "-t1",
            "-c50",
            "-d8s",
            "--latency",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "-s",
        ])
        .arg(&script)
        .arg(base.trim_end_matches("/api/v1"))
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| "?".into())
    };
    let errors = field("Non-2xx or 3xx responses:");
    Ok(format!(
        "{:>7} req/s  p50 {:>8}  p99 {:>8}  (wrk, 1 thread; non-2xx: {})",
        field("Requests/sec:"),
        field("50%"),
        field("99%"),
        if errors == "?" {
            "0".to_owned()
        } else {
            errors
        }
    ))
}

/// Closed-loop load: 50 clients, each sending its next request when the last answered.
async fn builtin_load(base: &str, token: &str, distinct_orders: bool) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let next_id = Arc::new(std::sync::atomic::AtomicI64::new(1));
    let duration = Duration::from_secs(8);
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, base, token, next_id) = (
                client.clone(),
                base.to_owned(),
                token.to_owned(),
                next_id.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while started.elapsed() < duration {
                    let id = if distinct_orders {
                        next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % ORDERS + 1
                    } else {
                        1
                    };
                    let t0 = Instant::now();
                    match client
                        .get(format!("{base}/orders/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                    {
                        Ok(res) if res.status().is_success() => {
                            let _ = res.bytes().await;
                            latencies.push(t0.elapsed().as_secs_f64() * 1e3);
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok(format!(
        "{:>7.0} req/s  p50 {:>5.2} ms  p99 {:>6.2} ms  ({} requests, {} errors)",
        all.len() as f64 / secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.len(),
        errors
    ))
}
