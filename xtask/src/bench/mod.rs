//! `cargo xtask bench [lifecycle|cache|field|tracking|stores|webhooks|lines|search|export|bulk|order-search|paths]`: benchmarks that print figures. They build and
//! start the release server, and use a scratch database `trachios_bench`.

mod bulk;
mod cache;
mod cpu;
mod export;
mod field;
mod hashing;
mod lifecycle;
mod lines;
mod load;
mod order_search;
mod paths;
mod quiet;
mod rounds;
mod search;
mod stores;
mod tracking;
mod webhooks;
mod wrk;

use std::process::Command;

use anyhow::{bail, Context};
use diesel_async::SimpleAsyncConnection;
use tokio::runtime::Runtime;

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
            runtime.block_on(lifecycle::run())?;
            runtime.block_on(cache::run())?;
            runtime.block_on(field::run())?;
            runtime.block_on(tracking::run())?;
            runtime.block_on(stores::run())?;
            runtime.block_on(webhooks::run())?;
            runtime.block_on(lines::run())?;
            runtime.block_on(search::run())?;
            runtime.block_on(export::run())?;
            runtime.block_on(bulk::run())?;
            runtime.block_on(order_search::run())?;
            // Last, so that the headline table ends the output.
            runtime.block_on(paths::run())
        }
        Some("lifecycle") => runtime.block_on(lifecycle::run()),
        Some("cache") => runtime.block_on(cache::run()),
        Some("field") => runtime.block_on(field::run()),
        Some("tracking") => runtime.block_on(tracking::run()),
        Some("stores") => runtime.block_on(stores::run()),
        Some("webhooks") => runtime.block_on(webhooks::run()),
        Some("lines") => runtime.block_on(lines::run()),
        Some("search") => runtime.block_on(search::run()),
        Some("export") => runtime.block_on(export::run()),
        Some("bulk") => runtime.block_on(bulk::run()),
        Some("order-search") => runtime.block_on(order_search::run()),
        Some("paths") => runtime.block_on(paths::run()),
        Some(other) => {
            bail!("unknown benchmark {other:?}: lifecycle, cache, field, tracking, stores, webhooks, lines, search, export, bulk, order-search or paths")
        }
    }
}

/// The cores the benchmarks share with the server, PostgreSQL and Redis.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A freshly created, migrated scratch database with one customer (id 1).
async fn scratch_database() -> anyhow::Result<String> {
    scratch_database_named(BENCH_DB).await
}

/// `scratch_database` under another name, for a benchmark that compares two databases.
async fn scratch_database_named(name: &str) -> anyhow::Result<String> {
    let server = crate::services::test_postgres_server();
    trachios_postgres::drop_database(&server, name).await?;
    trachios_postgres::create_database_if_missing(&server, name).await?;
    let url = trachios_postgres::with_database(&server, name);
    trachios_postgres::migrate(&url).await?;
    sql(
        &url,
        "INSERT INTO users (name, email, password_hash) VALUES ('Bench', 'bench@x.io', 'x')",
    )
    .await?;
    Ok(url)
}

async fn sql(url: &str, statements: &str) -> anyhow::Result<()> {
    let mut conn = trachios_postgres::connect(url)
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

/// Each row `query` returns, as psql prints it on one line.
async fn rows(url: &str, query: &str) -> anyhow::Result<Vec<String>> {
    let out = Command::new("psql")
        .args([url, "-Atc", query])
        .output()
        .context("psql")?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// Registers (once) and logs in an admin of the scratch database.
pub(super) async fn admin_token(base: &str) -> anyhow::Result<String> {
    let url = trachios_postgres::with_database(&crate::services::test_postgres_server(), BENCH_DB);
    admin_token_of(base, &url).await
}

/// Registers (once) and logs in an admin of the server on the database at `url`.
pub(super) async fn admin_token_of(base: &str, url: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let email = "bench-admin@x.io";
    // The bench customer's orders are read as an admin, who may read every order.
    let registered = client
        .post(format!("{base}/register"))
        .json(&serde_json::json!({"name": "Bench", "email": email, "password": "bench-password"}))
        .send()
        .await?
        .status();
    // 409: the scratch database already has the admin from an earlier scenario.
    if !(registered.is_success() || registered == reqwest::StatusCode::CONFLICT) {
        anyhow::bail!("registering the bench admin answered {registered}");
    }
    // Promote through the database: there is deliberately no API for it.
    sql(
        url,
        &format!("UPDATE users SET role = 'admin' WHERE email = '{email}'"),
    )
    .await?;
    login(base, email, "bench-password").await
}

/// Registers the customer `buyer@x.io` and adds a product on sale (price 12.50 EUR) as
/// `admin`, for benchmarks that place orders; the buyer's token.
pub(super) async fn buyer_and_product(
    base: &str,
    admin: &str,
    (sku, name, stock): (&str, &str, i64),
) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    client
        .post(format!("{base}/register"))
        .json(&serde_json::json!({"name": "Buyer", "email": "buyer@x.io", "password": "bench-password"}))
        .send()
        .await?
        .error_for_status()?;
    client
        .post(format!("{base}/products"))
        .bearer_auth(admin)
        .json(&serde_json::json!({"sku": sku, "name": name, "price": 1250, "stock": stock}))
        .send()
        .await?
        .error_for_status()?;
    login(base, "buyer@x.io", "bench-password").await
}

/// Places an order with `body` as `buyer`; its id.
pub(super) async fn place_order(
    client: &reqwest::Client,
    base: &str,
    buyer: &str,
    body: &serde_json::Value,
) -> anyhow::Result<i64> {
    let placed: serde_json::Value = client
        .post(format!("{base}/orders"))
        .bearer_auth(buyer)
        .json(body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    placed["id"].as_i64().context("a placed order's id")
}

/// A token of an existing account.
pub(super) async fn login(base: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"].as_str().context("login failed")?.to_owned())
}
