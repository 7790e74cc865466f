//! The headline table: the four paths users hit hardest, each under wrk next to a reference
//! measured in the same run on the same cores — a bare actix-web handler, pgbench of the
//! repository's own insert, argon2 timed in this process — and the ratio between them.
//! References differ between machines by 2×; only a ratio from one run means anything.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::json;

use super::wrk::{self, WrkFigures, WrkRun};
use super::{login, scratch_database, sql};
use crate::process::ReleaseServer;

/// Seconds per wrk or pgbench run.
const SECONDS: u32 = 10;
/// The orders a `GET /my-orders` page holds: the default page size.
const PAGE: usize = 100;
const PASSWORD: &str = "bench-password";
/// pgbench clients: as many as the server's connection pool has, and as the load has.
const PG_CLIENTS: [u32; 2] = [16, 50];

/// One row of the table.
struct Row {
    path: &'static str,
    measured: WrkFigures,
    reference: Option<(String, f64)>,
    target: Target,
}

/// What a row must reach: a share of its reference (and a p99 bound), or a rate.
enum Target {
    Ratio { at_least: f64, p99_ms: Option<f64> },
    Rate(f64),
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        self.reference
            .as_ref()
            .map(|(_, reference)| self.measured.requests_per_second / reference)
    }

    fn met(&self) -> bool {
        let clean = self.measured.failures == 0;
        clean
            && match self.target {
                Target::Ratio { at_least, p99_ms } => {
                    self.ratio().is_some_and(|r| r >= at_least)
                        && p99_ms.is_none_or(|bound| self.measured.p99_ms < bound)
                }
                Target::Rate(rate) => self.measured.requests_per_second >= rate,
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

pub(super) async fn run() -> anyhow::Result<()> {
    for tool in ["wrk", "pgbench", "redis-benchmark"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("the paths benchmark needs {tool} (Debian: apt-get install wrk postgresql-client redis-tools)");
        }
    }
    println!(
        "== paths benchmark: wrk (1 thread) on the same {} cores as the server, {SECONDS} s per run; each reference measured just before its path",
        cores()
    );
    let setup = Setup::start().await?;
    let origin = setup.server.base.trim_end_matches("/api/v1").to_owned();
    let mut rows = Vec::new();

    // GET /orders/{id} through the cache, next to actix-web serving the same bytes.
    let order_path = format!("/api/v1/orders/{}", setup.order_id);
    let body = reqwest::Client::new()
        .get(format!("{origin}{order_path}"))
        .bearer_auth(&setup.reader.token)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let bare = {
        let bare = ReleaseServer::bare_actix(&body).await?;
        let bare_origin = bare.base.trim_end_matches("/api/v1").to_owned();
        wrk_get(&bare_origin, &order_path, None)?
    };
    rows.push(Row {
        path: "GET /orders/{id}, cached",
        measured: profiled("get-order", &setup.server, || {
            wrk_get(&origin, &order_path, Some(&setup.reader.token))
        })?,
        reference: Some((
            format!("bare actix handler {:.0} req/s", bare.requests_per_second),
            bare.requests_per_second,
        )),
        target: Target::Ratio {
            at_least: 0.6,
            p99_ms: Some(5.0),
        },
    });

    // GET /my-orders: one full page, before the writes below add to the table; its first
    // page is cached, so the same page asked for through a filter (every order is
    // `created`) shows what a read from the database costs.
    let uncached = profiled("my-orders-uncached", &setup.server, || {
        wrk_get(
            &origin,
            "/api/v1/my-orders?status=created",
            Some(&setup.reader.token),
        )
    })?;
    rows.push(Row {
        path: "GET /my-orders (100 orders)",
        measured: profiled("my-orders", &setup.server, || {
            wrk_get(&origin, "/api/v1/my-orders", Some(&setup.reader.token))
        })?,
        reference: Some((
            format!(
                "same page uncached (filtered) {:.0} req/s",
                uncached.requests_per_second
            ),
            uncached.requests_per_second,
        )),
        target: Target::Rate(6000.0),
    });

    // POST /orders, next to pgbench running the repository's insert. Each write run starts
    // right after a checkpoint, so that all pay the same full-page writes to the WAL.
    let pgbench = pgbench_insert(&setup.url, setup.writer.id).await?;
    // The reference is the better of the two: what the database can do, however reached.
    let best = pgbench.iter().map(|(_, tps)| *tps).fold(0.0, f64::max);
    let pgbench_text = pgbench
        .iter()
        .map(|(clients, tps)| format!("{tps:.0} tps ({clients} clients)"))
        .collect::<Vec<_>>()
        .join(", ");
    sql(&setup.url, "CHECKPOINT").await?;
    rows.push(Row {
        path: "POST /orders",
        measured: profiled("post-orders", &setup.server, || {
            WrkRun {
                origin: &origin,
                connections: 50,
                seconds: SECONDS,
                token: Some(&setup.writer.token),
                script: wrk::post_json("/api/v1/orders", r#"{"item_description":"Laptop"}"#),
            }
            .run()
        })?,
        reference: Some((format!("pgbench {pgbench_text}"), best)),
        target: Target::Ratio {
            at_least: 0.8,
            p99_ms: None,
        },
    });

    // POST /login, next to as many argon2 hashes per second as the cores allow.
    let hash = Argon2Timing::measure()?;
    let login_reference = cores() as f64 / hash.reused_ms * 1e3;
    let credentials = json!({"email": setup.reader.email, "password": PASSWORD}).to_string();
    rows.push(Row {
        path: "POST /login (8 connections)",
        measured: profiled("login", &setup.server, || {
            WrkRun {
                origin: &origin,
                connections: 8,
                seconds: SECONDS,
                token: None,
                script: wrk::post_json("/api/v1/login", &credentials),
            }
            .run()
        })?,
        reference: Some((
            format!(
                "{} cores / {:.1} ms argon2 = {login_reference:.0}/s",
                cores(),
                hash.reused_ms
            ),
            login_reference,
        )),
        target: Target::Ratio {
            at_least: 0.9,
            p99_ms: None,
        },
    });

    let redis = redis_get()?;
    print_table(&rows);
    let logins = rows
        .iter()
        .find(|row| row.path.starts_with("POST /login"))
        .map_or(f64::NAN, |row| row.measured.requests_per_second);
    println!(
        "also measured: argon2id (m=19 MiB, t=2, p=1) {:.1} ms with fresh memory, {:.1} ms reused; \
         {:.0} hashes/s with {} threads hashing at once in this process (logins reached {:.2} of that); \
         redis-benchmark GET, 50 clients: {redis:.0} req/s",
        hash.fresh_ms,
        hash.reused_ms,
        hash.parallel_per_second,
        cores(),
        logins / hash.parallel_per_second,
    );
    Ok(())
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
    measure: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let Some(dir) = std::env::var_os("BENCH_PERF_DIR") else {
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

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    let statement = trachios_postgres::statements::INSERT_ORDER
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

/// One argon2id hash with the service's parameters, timed in this process.
struct Argon2Timing {
    fresh_ms: f64,
    reused_ms: f64,
    /// Hashes per second with every core hashing, each in its own reused memory.
    parallel_per_second: f64,
}

impl Argon2Timing {
    fn measure() -> anyhow::Result<Self> {
        const HASHES: usize = 10;
        let hasher = trachios_auth::argon2id().map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        let blocks = hasher.params().block_count();
        let hash = |memory: Option<&mut [argon2::Block]>| -> anyhow::Result<f64> {
            let mut out = [0u8; 32];
            let started = Instant::now();
            match memory {
                Some(memory) => hasher.hash_password_into_with_memory(
                    b"bench-password",
                    b"bench-salt-bytes",
                    &mut out,
                    memory,
                ),
                None => hasher.hash_password_into(b"bench-password", b"bench-salt-bytes", &mut out),
            }
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
            Ok(started.elapsed().as_secs_f64() * 1e3)
        };
        let median = |mut times: Vec<f64>| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        };
        let fresh = (0..HASHES).map(|_| hash(None)).collect::<Result<_, _>>()?;
        let mut memory = vec![argon2::Block::default(); blocks];
        let reused = (0..HASHES)
            .map(|_| hash(Some(&mut memory)))
            .collect::<Result<_, _>>()?;
        let started = Instant::now();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..cores())
                .map(|_| {
                    scope.spawn(|| {
                        let mut memory = vec![argon2::Block::default(); blocks];
                        (0..HASHES).try_for_each(|_| hash(Some(&mut memory)).map(drop))
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))?
            })
        })?;
        Ok(Self {
            fresh_ms: median(fresh),
            reused_ms: median(reused),
            parallel_per_second: (HASHES * cores()) as f64 / started.elapsed().as_secs_f64(),
        })
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| {:<28} | {:<44} | {:<52} | {:>5} | {:<22} | {:<4} |",
        "path", "measured", "reference (same run)", "ratio", "target", "met"
    );
    println!(
        "|{:-<30}|{:-<46}|{:-<54}|{:->7}|{:-<24}|{:-<6}|",
        "", "", "", "", "", ""
    );
    for row in rows {
        println!(
            "| {:<28} | {:<44} | {:<52} | {:>5} | {:<22} | {:<4} |",
            row.path,
            row.measured.to_string(),
            row.reference
                .as_ref()
                .map_or("-".to_owned(), |(text, _)| text.clone()),
            row.ratio().map_or("-".to_owned(), |r| format!("{r:.2}")),
            row.target_text(),
            if row.met() { "yes" } else { "NO" }
        );
    }
}
