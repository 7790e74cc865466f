//! `cargo xtask bench lines`: placing orders with catalog lines, priced and taking stock in
//! the order's transaction, next to placing free-text orders — our own v2 path on the same
//! database — in the same rounds; then every order taking a unit of one hot product, next to
//! the three-line orders of a large catalog. Afterwards the ledger is checked: nothing was
//! oversold, every product's stock is the sum of its movements.

use anyhow::{bail, Context};
use serde_json::json;

use super::rounds::{Paired, SECONDS};
use super::wrk::{self, WrkRun};
use super::{count, login, scratch_database, sql};
use crate::process::ReleaseServer;

/// Products the three-line orders draw from, so that concurrent orders seldom share a row.
const CATALOG: i64 = 1000;
/// Each product's stock: the most a product may hold, so no run sells out.
const STOCK: i64 = 1_000_000_000;
const CONNECTIONS: u32 = 50;

/// Three different products of the catalog per order, drawn at random by wrk.
fn three_lines(first_id: i64) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         request = function()\n\
           local a = math.random(0, {last})\n\
           local b = (a + 1 + math.random(0, {last} - 2)) % {n}\n\
           local c = a\n\
           while c == a or c == b do c = math.random(0, {last}) end\n\
           local body = string.format('{{\"lines\":[{{\"product_id\":%d,\"quantity\":1}},{{\"product_id\":%d,\"quantity\":1}},{{\"product_id\":%d,\"quantity\":1}}]}}', {first_id} + a, {first_id} + b, {first_id} + c)\n\
           return wrk.format(nil, \"/api/v1/orders\", nil, body)\n\
         end\n",
        last = CATALOG - 1,
        n = CATALOG,
    )
}

pub(super) async fn run() -> anyhow::Result<()> {
    if !super::wrk::installed() {
        anyhow::bail!("this benchmark drives the server with wrk: apt-get install wrk");
    }
    let url = scratch_database().await?;
    let server = ReleaseServer::start(
        &url,
        &[
            ("LOGIN_RATE_PER_MINUTE", "0"),
            ("AUTH_RATE_PER_MINUTE", "0"),
            ("ORDER_RATE_PER_MINUTE", "0"),
            ("OPEN_ORDERS_PER_USER", "0"),
            ("ORDER_STEP_SECONDS", "3600"),
        ],
    )
    .await?;
    let base = server.base.clone();
    let origin = base.trim_end_matches("/api/v1").to_owned();
    reqwest::Client::new()
        .post(format!("{base}/register"))
        .json(&json!({"name": "Bench", "email": "lines@x.io", "password": "bench-password"}))
        .send()
        .await?
        .error_for_status()
        .context("registering the bench customer")?;
    let token = login(&base, "lines@x.io", "bench-password").await?;
    // The catalog and each product's opening movement, as the API would write them.
    sql(
        &url,
        &format!(
            "INSERT INTO products (sku, name, price, currency, stock, created_at, updated_at)
             SELECT 'P-' || g, 'Product ' || g, 100 + g, 'EUR', {STOCK}, now(), now()
             FROM generate_series(1, {CATALOG} + 1) g;
             INSERT INTO stock_movements (product_id, delta, stock_after, reason, actor, created_at)
             SELECT id, stock, stock, 'adjustment', 'system', now() FROM products;
             ANALYZE products;"
        ),
    )
    .await?;
    let first_id = count(&url, "SELECT min(id) FROM products").await?;
    let hot_id = first_id + CATALOG;
    let run = |script: String| WrkRun {
        origin: &origin,
        connections: CONNECTIONS,
        seconds: SECONDS,
        token: Some(&token),
        script,
    };
    let free_text = || {
        run(wrk::post_json(
            "/api/v1/orders",
            r#"{"item_description":"Laptop"}"#,
        ))
        .run()
    };
    let lines = || run(three_lines(first_id)).run();
    let hot = || {
        run(wrk::post_json(
            "/api/v1/orders",
            &format!(r#"{{"lines":[{{"product_id":{hot_id},"quantity":1}}]}}"#),
        ))
        .run()
    };

    let against_free_text = Paired::measure(
        async |_| {
            sql(&url, "CHECKPOINT").await?;
            Ok(free_text()?.requests_per_second)
        },
        async |_| {
            sql(&url, "CHECKPOINT").await?;
            lines()
        },
    )
    .await?;
    let hot_against_lines = Paired::measure(
        async |_| {
            sql(&url, "CHECKPOINT").await?;
            Ok(lines()?.requests_per_second)
        },
        async |_| {
            sql(&url, "CHECKPOINT").await?;
            hot()
        },
    )
    .await?;

    // Oversold would show as a stock below what the ledger says, or a hot product whose
    // units taken differ from the orders that name it.
    let unbalanced = count(
        &url,
        "SELECT count(*) FROM products p
         WHERE p.stock <> (SELECT sum(delta) FROM stock_movements m WHERE m.product_id = p.id)",
    )
    .await?;
    let hot_sold = count(
        &url,
        &format!("SELECT {STOCK} - stock FROM products WHERE id = {hot_id}"),
    )
    .await?;
    let hot_orders = count(
        &url,
        &format!(
            "SELECT count(*) FROM orders WHERE lines @> '[{{\"product_id\": {hot_id}}}]'::jsonb"
        ),
    )
    .await?;
    println!();
    println!("orders with lines (PostgreSQL, {CONNECTIONS} connections, {SECONDS} s rounds)");
    println!(
        "  POST /orders, 3 lines of {CATALOG} products   {}\n    vs free text {:.0} req/s: ratio {} (target >= 0.80)",
        against_free_text.measured,
        against_free_text.reference,
        against_free_text.ratio_text()
    );
    println!(
        "  POST /orders, 1 line of one hot product  {}\n    vs 3 lines {:.0} req/s: ratio {} (target >= 0.50)",
        hot_against_lines.measured,
        hot_against_lines.reference,
        hot_against_lines.ratio_text()
    );
    println!(
        "  hot product: {hot_sold} units taken, {hot_orders} orders name it; products whose ledger does not sum to their stock: {unbalanced}"
    );
    drop(server);
    if unbalanced != 0 || hot_sold != hot_orders {
        bail!("stock and orders disagree: something was oversold or lost");
    }
    Ok(())
}
