//! `cargo xtask bench order-search`: `GET /orders?q=` over 1,000,000 orders next to the same
//! searches over 1,000, two servers on two databases measured in alternating rounds. Orders
//! are made alike in both: each names one of 100,000 products (a sku and a name of two of
//! the product search's words), so a word is in the same share of either table.

use anyhow::Context;
use serde_json::json;

use super::quiet::settle;
use super::rounds::{median, ROUNDS, SECONDS};
use super::search::{words_sql, WORDS};
use super::wrk::{self, WrkFigures, WrkRun};
use super::{admin_token_of, buyer_and_product, count, place_order, scratch_database_named, sql};
use crate::process::ReleaseServer;

const SMALL: i64 = 1_000;
const LARGE: i64 = 1_000_000;
const PRODUCTS: i64 = 100_000;
const CUSTOMERS: i64 = 1_000;
/// As many searches at once as the machine has cores: the figures are a search's latency,
/// not the length of a queue for the CPU.
const CONNECTIONS: u32 = 2;

/// The searches the issue names, three and ten characters long: a word one order in twenty
/// holds, a piece of a number about one in three hundred holds, the start of ten skus, and
/// two words across their space.
const QUERIES: &[&str] = &["oak", "777", "sku-000077", "walnut cla"];

/// `n` orders of one line each: `model` (an order the API placed) and copies of it with the
/// line's sku and name and the summary changed. The trigram index is built after the rows,
/// from its own definition, as a restore would.
async fn orders(url: &str, n: i64, model: i64) -> anyhow::Result<()> {
    let words = words_sql();
    let index = super::rows(
        url,
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'orders_searched_text_idx'",
    )
    .await?
    .into_iter()
    .next()
    .context("the search index")?;
    sql(
        url,
        &format!(
            "DROP INDEX orders_searched_text_idx;
             INSERT INTO users (name, email, password_hash)
             SELECT 'Customer ' || g, 'customer' || g || '@x.io', 'x' FROM generate_series(1, {CUSTOMERS}) g;
             INSERT INTO orders (customer_id, item_description, status, version, next_step_at,
                                 created_at, updated_at, lines, currency, total)
             SELECT (SELECT min(id) FROM users WHERE email LIKE 'customer%') + g % {CUSTOMERS},
                    '1 × ' || p.name, 'delivered', 3, NULL, o.created_at, o.updated_at,
                    jsonb_set(jsonb_set(o.lines, '{{0,sku}}', to_jsonb(p.sku)), '{{0,name}}', to_jsonb(p.name)),
                    o.currency, o.total
             FROM orders o
             CROSS JOIN generate_series(1, {n} - 1) g
             CROSS JOIN LATERAL (
                 SELECT 'SKU-' || lpad(k::text, 7, '0') AS sku,
                        initcap((ARRAY[{words}])[1 + k % {count}]) || ' '
                            || (ARRAY[{words}])[1 + (k / {count}) % {count}] || ' no. ' || k AS name
                 FROM (SELECT 1 + (g::bigint * 7919) % {PRODUCTS} AS k) kk
             ) p
             WHERE o.id = {model};
             {index};",
            count = WORDS.len(),
        ),
    )
    .await?;
    sql(url, "VACUUM ANALYZE orders").await
}

/// A database of `n` orders and a server on it, with an admin's token.
async fn stage(name: &str, n: i64) -> anyhow::Result<(ReleaseServer, String)> {
    let url = scratch_database_named(name).await?;
    let server = ReleaseServer::start(
        &url,
        &[
            ("ORDER_STEP_SECONDS", "3600"),
            ("LOGIN_RATE_PER_MINUTE", "0"),
            ("AUTH_RATE_PER_MINUTE", "0"),
        ],
    )
    .await?;
    let base = server.base.clone();
    let admin = admin_token_of(&base, &url).await?;
    let client = reqwest::Client::new();
    let buyer = buyer_and_product(&base, &admin, ("MODEL-1", "Model", 10)).await?;
    let model = place_order(
        &client,
        &base,
        &buyer,
        &json!({"lines": [{"sku": "MODEL-1", "quantity": 1}]}),
    )
    .await?;
    orders(&url, n, model).await?;
    let stored = count(&url, "SELECT count(*) FROM orders").await?;
    if stored != n {
        anyhow::bail!("{name} holds {stored} orders, not {n}");
    }
    Ok((server, admin))
}

pub(super) async fn run() -> anyhow::Result<()> {
    if !wrk::installed() {
        anyhow::bail!("this benchmark drives the server with wrk: apt-get install wrk");
    }
    let (small, small_admin) = stage("trachios_bench_orders_small", SMALL).await?;
    let (large, large_admin) = stage("trachios_bench_orders_large", LARGE).await?;
    let measure = |base: &str, token: &str, q: &str| -> anyhow::Result<WrkFigures> {
        WrkRun {
            origin: base.trim_end_matches("/api/v1"),
            connections: CONNECTIONS,
            seconds: SECONDS,
            token: Some(token),
            script: wrk::get(&format!(
                "/api/v1/orders?q={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            )),
        }
        .run()
    };
    // Per query: (large, small) figures of each round.
    let mut figures: Vec<Vec<(WrkFigures, WrkFigures)>> = vec![Vec::new(); QUERIES.len()];
    for _ in 0..ROUNDS {
        for (q, rounds) in QUERIES.iter().zip(&mut figures) {
            settle();
            let reference = measure(&small.base, &small_admin, q)?;
            settle();
            rounds.push((measure(&large.base, &large_admin, q)?, reference));
        }
    }
    drop((small, large));
    println!();
    println!(
        "order search (PostgreSQL, {LARGE} orders vs {SMALL}, {CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS} s; medians)"
    );
    for (q, rounds) in QUERIES.iter().zip(figures) {
        let over =
            |pick: fn(&(WrkFigures, WrkFigures)) -> f64| median(rounds.iter().map(pick).collect());
        println!(
            "  GET /orders?q={q:<12} ({:>2} characters) p99 {:>6.1} ms, {:>5.0} req/s (target p99 < 50 ms); {SMALL} orders p99 {:.1} ms, {:.0} req/s",
            q.chars().count(),
            over(|(large, _)| large.p99_ms),
            over(|(large, _)| large.requests_per_second),
            over(|(_, small)| small.p99_ms),
            over(|(_, small)| small.requests_per_second),
        );
    }
    Ok(())
}
