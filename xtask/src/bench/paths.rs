//! The headline table: the four paths users hit hardest, each under wrk next to a reference
//! measured in the same run on the same cores — a bare actix-web handler, pgbench of the
//! repository's own insert, argon2 timed in this process — and the ratio between them.
//! References differ between machines by 2×; only a ratio from one run means anything.

use std::process::Command;

use anyhow::{bail, Context};
use serde_json::json;

use super::cpu;
use super::hashing::Argon2Timing;
use super::rounds::{median, Paired, ROUNDS, SECONDS};
use super::wrk::{self, WrkFigures, WrkRun};
use super::{cores, login, scratch_database, sql};
use crate::process::ReleaseServer;

/// The orders a `GET /my-orders` page holds: the default page size.
const PAGE: usize = 100;
const PASSWORD: &str = "bench-password";
/// pgbench clients: as many as the server's connection pool has, and as the load has.
const PG_CLIENTS: [u32; 2] = [16, 50];

/// One row of the table.
struct Row {
    path: &'static str,
    paired: Paired,
    /// What the reference is, with its median figure.
    reference: String,
    target: Target,
}

/// What a row must reach: a share of its reference (and a p99 bound), or a rate.
enum Target {
    Ratio { at_least: f64, p99_ms: Option<f64> },
    Rate(f64),
}

impl Row {
    fn met(&self) -> bool {
        let measured = &self.paired.measured;
        measured.failures == 0
            && match self.target {
                Target::Ratio { at_least, p99_ms } => {
                    self.paired.ratio() >= at_least
                        && p99_ms.is_none_or(|bound| measured.p99_ms < bound)
                }
                Target::Rate(rate) => measured.requests_per_second >= rate,
            }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::Ratio {
                at_least,
                p99_ms: None,
            } => format!(">= {at_least:.2}"),
            Target::Ratio {
                at_least,
                p99_ms: Some(bound),
            } => format!(">= {at_least:.2}, p99 < {bound} ms"),
            Target::Rate(rate) => format!(">= {rate:.0} req/s"),
        }
    }
}

/// The scratch database's accounts and the server the paths run on.
struct Setup {
    server: ReleaseServer,
    url: String,
    /// Owns `PAGE` orders; reads them and logs in.
    reader: Account,
    /// Places orders, so that the reader's page stays the same.
    writer: Account,
    /// One of the reader's orders, read through the cache.
    order_id: i64,
}

struct Account {
    id: i64,
    email: String,
    token: String,
}

/// The paths `BENCH_ONLY` may name (comma-separated), in the order they run. Writes come
/// last: they grow the tables the reads would then read.
const PATHS: [&str; 4] = ["get", "my-orders", "login", "post"];

pub(super) async fn run() -> anyhow::Result<()> {
    for tool in ["wrk", "pgbench", "redis-benchmark"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("the paths benchmark needs {tool} (Debian: apt-get install wrk postgresql-client redis-tools)");
        }
    }
    let only = std::env::var("BENCH_ONLY").unwrap_or_else(|_| PATHS.join(","));
    let chosen = |path: &str| only.split(',').any(|p| p.trim() == path);
    if let Some(unknown) = only.split(',').find(|p| !PATHS.contains(&p.trim())) {
        bail!("BENCH_ONLY names {unknown:?}: one of {}", PATHS.join(", "));
    }
    println!(
        "== paths benchmark: wrk (1 thread) on the same {} cores as the server; each path and its \
         reference alternate {ROUNDS} times, {SECONDS} s each, after the machine went idle; \
         medians, and the ratio's spread over the rounds",
        cores()
    );
    let setup = Setup::start().await?;
    let origin = setup.server.base.trim_end_matches("/api/v1").to_owned();
    let mut rows = Vec::new();

    if chosen("get") {
        rows.push(get_order(&setup, &origin).await?);
    }
    if chosen("my-orders") {
        rows.push(my_orders(&setup, &origin).await?);
    }
    if chosen("login") {
        rows.push(login_row(&setup, &origin).await?);
    }
    if chosen("post") {
        rows.push(create_order(&setup, &origin).await?);
    }

    let redis = redis_get()?;
    print_table(&rows);
    super::quiet::settle();
    let hash = Argon2Timing::measure()?;
    println!(
        "also measured: argon2id (m=19 MiB, t=2, p=1) {:.1} ms with fresh memory, {:.1} ms reused; \
         {:.0} hashes/s with {} threads hashing at once in this process, {:.2} of cores / one hash; \
         redis-benchmark GET, 50 clients: {redis:.0} req/s",
        hash.fresh_ms,
        hash.reused_ms,
        hash.parallel_per_second,
        cores(),
        hash.parallel_per_second * hash.reused_ms / 1e3 / cores() as f64,
    );
    Ok(())
}

/// GET /orders/{id} through the cache, next to actix-web serving the same bytes.
async fn get_order(setup: &Setup, origin: &str) -> anyhow::Result<Row> {
    let order_path = format!("/api/v1/orders/{}", setup.order_id);
    let body = reqwest::Client::new()
        .get(format!("{origin}{order_path}"))
        .bearer_auth(&setup.reader.token)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let bare = ReleaseServer::bare_actix(&body).await?;
    let bare_origin = bare.base.trim_end_matches("/api/v1").to_owned();
    // The same bare server with one Redis GET per request: what the cache's round trip
    // costs by itself, so that the table shows how much of the gap is the service's own.
    let redis_url = crate::services::test_redis_url();
    let key = format!("bench-paths-{}:bare-order", std::process::id());
    let mut redis = trachios_redis::client(redis_url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    redis::cmd("SET")
        .arg(&key)
        .arg(&body)
        .arg("EX")
        .arg(3600)
        .exec_async(&mut redis)
        .await?;
    let bare_redis = ReleaseServer::bare_actix_redis(&redis_url, &key).await?;
    let bare_redis_origin = bare_redis.base.trim_end_matches("/api/v1").to_owned();
    let mut with_redis = Vec::new();
    let (mut bare_cpu, mut bare_redis_cpu, mut service_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let paired = Paired::measure(
        async |_| {
            let (bare_figures, cpu) =
                cpu::per_request(bare.pid(), || wrk_get(&bare_origin, &order_path, None))?;
            bare_cpu.push(cpu);
            super::quiet::settle();
            let (redis_figures, cpu) = cpu::per_request(bare_redis.pid(), || {
                wrk_get(&bare_redis_origin, &order_path, None)
            })?;
            bare_redis_cpu.push(cpu);
            let bare = bare_figures.requests_per_second;
            with_redis.push(redis_figures.requests_per_second / bare);
            Ok(bare)
        },
        async |round| {
            let (figures, cpu) = cpu::per_request(setup.server.pid(), || {
                profiled("get-order", &setup.server, round, || {
                    wrk_get(origin, &order_path, Some(&setup.reader.token))
                })
            })?;
            service_cpu.push(cpu);
            Ok(figures)
        },
    )
    .await?;
    redis::cmd("DEL").arg(&key).exec_async(&mut redis).await?;
    println!(
        "   bare actix + one Redis GET per request: {:.2} of the bare handler (median of rounds {})",
        median(with_redis.clone()),
        with_redis.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ")
    );
    println!(
        "   server CPU per request (medians): bare {:.1} µs, bare + Redis GET {:.1} µs, \
         service {:.1} µs",
        median(bare_cpu),
        median(bare_redis_cpu),
        median(service_cpu)
    );
    Ok(Row {
        path: "GET /orders/{id}, cached",
        reference: format!("bare actix handler {:.0} req/s", paired.reference),
        paired,
        target: Target::Ratio {
            at_least: 0.6,
            p99_ms: Some(5.0),
        },
    })
}

/// GET /my-orders: one full page. Its first page is cached, so the same page asked for
/// through a filter (every order is `created`) shows what a read from the database costs.
async fn my_orders(setup: &Setup, origin: &str) -> anyhow::Result<Row> {
    let token = Some(setup.reader.token.as_str());
    let paired = Paired::measure(
        async |_| {
            Ok(wrk_get(origin, "/api/v1/my-orders?status=created", token)?.requests_per_second)
        },
        async |round| {
            profiled("my-orders", &setup.server, round, || {
                wrk_get(origin, "/api/v1/my-orders", token)
            })
        },
    )
    .await?;
    Ok(Row {
        path: "GET /my-orders (100 orders)",
        reference: format!(
            "same page uncached (filtered) {:.0} req/s",
            paired.reference
        ),
        paired,
        target: Target::Rate(6000.0),
    })
}

/// POST /login, next to as many argon2 hashes per second as the cores allow: each round's
/// reference is one hash in reused memory, timed in this process just before.
async fn login_row(setup: &Setup, origin: &str) -> anyhow::Result<Row> {
    let credentials = json!({"email": setup.reader.email, "password": PASSWORD}).to_string();
    // Both cores hashing at once in this process, in each round: one hash alone can run
    // faster than two side by side (memory bandwidth, caches, the host's scheduling), so
    // this shows how far logins are from what the machine does with no HTTP or database.
    let mut parallel = Vec::new();
    let paired = Paired::measure(
        async |_| {
            let one_hash_ms = Argon2Timing::reused_ms()?;
            super::quiet::settle();
            parallel.push(Argon2Timing::parallel_per_second()?);
            Ok(cores() as f64 / one_hash_ms * 1e3)
        },
        async |round| {
            profiled("login", &setup.server, round, || {
                WrkRun {
                    origin,
                    connections: 8,
                    seconds: SECONDS,
                    token: None,
                    script: wrk::post_json("/api/v1/login", &credentials),
                }
                .run()
            })
        },
    )
    .await?;
    let parallel = median(parallel);
    println!(
        "   {} threads hashing at once in this process: {parallel:.0} hashes/s (median of \
         rounds); logins reach {:.2} of that",
        cores(),
        paired.measured.requests_per_second / parallel
    );
    Ok(Row {
        path: "POST /login (8 connections)",
        reference: format!(
            "{} cores / {:.1} ms argon2 = {:.0}/s",
            cores(),
            cores() as f64 / paired.reference * 1e3,
            paired.reference
        ),
        paired,
        target: Target::Ratio {
            at_least: 0.9,
            p99_ms: None,
        },
    })
}

/// POST /orders, next to pgbench running the repository's insert; the better of pgbench's
/// two client counts is the reference (what the database can do, however reached). Each
/// write run starts right after a checkpoint, so that all pay the same full-page writes
/// to the WAL.
async fn create_order(setup: &Setup, origin: &str) -> anyhow::Result<Row> {
    let mut pgbench_runs = Vec::new();
    let paired = Paired::measure(
        async |_| {
            let runs = pgbench_insert(&setup.url, setup.writer.id).await?;
            let best = runs.iter().map(|(_, tps)| *tps).fold(0.0, f64::max);
            pgbench_runs.push(runs);
            Ok(best)
        },
        async |round| {
            sql(&setup.url, "CHECKPOINT").await?;
            profiled("post-orders", &setup.server, round, || {
                WrkRun {
                    origin,
                    connections: 50,
                    seconds: SECONDS,
                    token: Some(&setup.writer.token),
                    script: wrk::post_json("/api/v1/orders", r#"{"item_description":"Laptop"}"#),
                }
                .run()
            })
        },
    )
    .await?;
    let per_clients = PG_CLIENTS
        .iter()
        .enumerate()
        .map(|(i, clients)| {
            let tps = median(pgbench_runs.iter().map(|runs| runs[i].1).collect());
            format!("{tps:.0} tps ({clients} clients)")
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Row {
        path: "POST /orders",
        reference: format!("pgbench {per_clients}"),
        paired,
        target: Target::Ratio {
            at_least: 0.8,
            p99_ms: None,
        },
    })
}

/// Runs `measure`; with `BENCH_PERF_DIR` set, `perf record` samples every process on the
/// machine meanwhile (server, PostgreSQL, Redis, wrk) into `{dir}/{name}.data`, so that
/// `perf report -i … --sort comm,dso,sym` shows where the cores went. With
/// `BENCH_PERF_SERVER=1` it samples only the server, with DWARF call graphs (build it with
/// `BENCH_PROFILE=profiling` for symbols), so that `perf report --children` attributes
/// time to the middleware, handler and adapter that spent it.
fn profiled<T>(
    name: &str,
    server: &ReleaseServer,
    round: usize,
    measure: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    // One round's profile is enough, and the first has no profile of its own in the others.
    let dir = std::env::var_os("BENCH_PERF_DIR").filter(|_| round == 0);
    let Some(dir) = dir else {
        return measure();
    };
    std::fs::create_dir_all(&dir)?;
    let mut perf = Command::new("perf");
    perf.args(["record", "-F", "499", "-e", "cpu-clock", "-q", "-o"])
        .arg(std::path::Path::new(&dir).join(format!("{name}.data")));
    if std::env::var_os("BENCH_PERF_SERVER").is_some() {
        perf.args(["--call-graph", "dwarf", "-p", &server.pid().to_string()]);
    } else {
        perf.args(["-a", "-g"]);
    }
    let mut perf = perf
        .args(["--", "sleep", &(SECONDS - 1).to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting perf record (Debian: apt-get install linux-perf)")?;
    let measured = measure();
    perf.wait()?;
    measured
}

/// A GET path over 50 connections, the load every read path is measured under.
fn wrk_get(origin: &str, path: &str, token: Option<&str>) -> anyhow::Result<WrkFigures> {
    WrkRun {
        origin,
        connections: 50,
        seconds: SECONDS,
        token,
        script: wrk::get(path),
    }
    .run()
}

impl Setup {
    async fn start() -> anyhow::Result<Self> {
        let url = scratch_database().await?;
        let redis = crate::services::test_redis_url();
        let prefix = format!("bench-paths-{}:", std::process::id());
        let server = ReleaseServer::start(
            &url,
            &[
                ("REDIS_URL", &redis),
                ("CACHE_KEY_PREFIX", &prefix),
                // The benchmark is one client hammering its own accounts.
                ("LOGIN_RATE_PER_MINUTE", "0"),
                ("AUTH_RATE_PER_MINUTE", "0"),
                ("ORDER_RATE_PER_MINUTE", "0"),
                ("LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR", "0"),
                // Orders placed here stay put: the lifecycle's own work is the lifecycle
                // benchmark's subject, not this one's.
                ("ORDER_STEP_SECONDS", "3600"),
            ],
        )
        .await?;
        let reader = Account::register(&server.base, "paths-reader@x.io").await?;
        let writer = Account::register(&server.base, "paths-writer@x.io").await?;
        sql(
            &url,
            &format!(
                "INSERT INTO orders (customer_id, item_description, next_step_at)
                 SELECT {}, 'Laptop ' || n, now() + interval '1 day' FROM generate_series(1, {PAGE}) AS n;
                 ANALYZE orders;",
                reader.id
            ),
        )
        .await?;
        let order_id = super::count(
            &url,
            &format!(
                "SELECT max(id) FROM orders WHERE customer_id = {}",
                reader.id
            ),
        )
        .await?;
        Ok(Self {
            server,
            url,
            reader,
            writer,
            order_id,
        })
    }
}

impl Account {
    async fn register(base: &str, email: &str) -> anyhow::Result<Self> {
        let user: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/register"))
            .json(&json!({"name": "Bench", "email": email, "password": PASSWORD}))
            .send()
            .await?
            .error_for_status()
            .context("registering a bench account")?
            .json()
            .await?;
        Ok(Self {
            id: user["id"].as_i64().context("registering answered no id")?,
            email: email.to_owned(),
            token: login(base, email, PASSWORD).await?,
        })
    }
}

/// pgbench running `INSERT_ORDER` as the repository sends it, prepared, with the values the
/// server would bind written in, with 16 clients (the server's pool) and with 50 (the
/// load's connections): clients and transactions per second of each. Each run starts
/// after a checkpoint.
async fn pgbench_insert(url: &str, customer: i64) -> anyhow::Result<Vec<(u32, f64)>> {
    // The two-digit placeholders first, so that `$1` does not take `$10`'s first digits.
    let statement = trachios_postgres::statements::INSERT_ORDER
        .replace("$13", "NULL")
        .replace("$12", "NULL")
        .replace("$11", "NULL")
        .replace("$10", "NULL")
        .replace("$9", "'[]'")
        .replace("$1", &customer.to_string())
        .replace("$2", "'Laptop'")
        .replace("$3", "'created'")
        .replace("$4", "1")
        .replace("$5", "now() + interval '3600 seconds'")
        .replace("$6", "now()")
        .replace("$7", "'customer'")
        .replace("$8", &customer.to_string());
    let script = std::env::temp_dir().join(format!("trachios-pgbench-{}.sql", std::process::id()));
    // pgbench reads one statement per line unless it ends in a semicolon.
    std::fs::write(&script, format!("{};\n", statement.trim_end()))?;
    let mut runs = Vec::new();
    for clients in PG_CLIENTS {
        sql(url, "CHECKPOINT").await?;
        runs.push((clients, pgbench(url, &script, clients)?));
    }
    let _ = std::fs::remove_file(&script);
    Ok(runs)
}

fn pgbench(url: &str, script: &std::path::Path, clients: u32) -> anyhow::Result<f64> {
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "1"])
        .arg(format!("-c{clients}"))
        .arg(format!("-T{SECONDS}"))
        .arg("-f")
        .arg(script)
        .arg(url)
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // "tps = 4321.123456 (without initial connection time)"
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("pgbench printed no tps:\n{text}"))
}

/// redis-benchmark GET with 50 clients, requests per second.
fn redis_get() -> anyhow::Result<f64> {
    let redis = url::Url::parse(&crate::services::test_redis_url())?;
    let out = Command::new("redis-benchmark")
        .args(["-t", "get", "-c", "50", "-n", "300000", "-d", "300", "-q"])
        .args(["-h", redis.host_str().unwrap_or("127.0.0.1")])
        .args(["-p", &redis.port().unwrap_or(6379).to_string()])
        .output()
        .context("running redis-benchmark")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "GET: 98231.83 requests per second, p50=0.263 msec" (after carriage-return updates)
    text.split(['\r', '\n'])
        .filter_map(|l| l.trim().strip_prefix("GET:"))
        .filter_map(|v| v.split_whitespace().next()?.parse().ok())
        .next_back()
        .with_context(|| format!("redis-benchmark printed no rate:\n{text}"))
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| {:<28} | {:<44} | {:<52} | {:>16} | {:<22} | {:<4} |",
        "path",
        "measured (median)",
        "reference (same rounds, median)",
        "ratio (spread)",
        "target",
        "met"
    );
    println!(
        "|{:-<30}|{:-<46}|{:-<54}|{:->18}|{:-<24}|{:-<6}|",
        "", "", "", "", "", ""
    );
    for row in rows {
        println!(
            "| {:<28} | {:<44} | {:<52} | {:>16} | {:<22} | {:<4} |",
            row.path,
            row.paired.measured.to_string(),
            row.reference,
            row.paired.ratio_text(),
            row.target_text(),
            if row.met() { "yes" } else { "NO" }
        );
    }
}
