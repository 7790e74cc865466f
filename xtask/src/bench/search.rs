//! `cargo xtask bench search`: `GET /products?q=` on a catalog of 1,000,000 products next to
//! the same searches on one of 1,000, two servers on two databases measured in alternating
//! rounds. The words are spread alike over both catalogs (each word names the same share of
//! products), so a search that costs what a page costs reads as much in either; one that
//! reads every match grows a thousandfold.

use super::quiet::settle;
use super::rounds::{median, median_and_spread, ROUNDS, SECONDS};
use super::wrk::{WrkFigures, WrkRun};
use super::{count, scratch_database_named, sql};
use crate::process::ReleaseServer;

const SMALL: i64 = 1_000;
const LARGE: i64 = 1_000_000;
/// Few enough that the figures are a search's latency, not a queue's.
const CONNECTIONS: u32 = 8;
/// The words names are made of; each names 1/WORDS.len() of the catalog.
pub(super) const WORDS: &[&str] = &[
    "enamel",
    "walnut",
    "linen",
    "copper",
    "porcelain",
    "cedar",
    "marble",
    "wool",
    "bamboo",
    "leather",
    "granite",
    "velvet",
    "oak",
    "brass",
    "cotton",
    "slate",
    "teak",
    "silk",
    "clay",
    "steel",
];

/// The searches, taken in turn: a common word, a word inside another, a sku prefix, one
/// product's sku, and a word no product has.
const QUERIES: &[&str] = &["walnut", "rcela", "sku-0000", "sku-0000777", "zircon"];

/// `WORDS` as the elements of an SQL array literal.
pub(super) fn words_sql() -> String {
    WORDS
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates the catalog of `n` products. The trigram indexes are built after the rows, from
/// their own definitions, as a restore would: a million inserts into GIN indexes one row at
/// a time would take the benchmark's budget for nothing it measures.
async fn catalog(url: &str, n: i64) -> anyhow::Result<()> {
    let words = words_sql();
    let indexes: Vec<String> = super::rows(
        url,
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'products' AND indexdef LIKE '%gin%'",
    )
    .await?;
    let mut script = String::new();
    for index in &indexes {
        let name = index
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_owned();
        script.push_str(&format!("DROP INDEX {name};\n"));
    }
    script.push_str(&format!(
        "INSERT INTO products (sku, name, price, currency, stock, created_at, updated_at)
         SELECT 'SKU-' || lpad(g::text, 7, '0'),
                initcap((ARRAY[{words}])[1 + g % {count}]) || ' ' || (ARRAY[{words}])[1 + (g / {count}) % {count}] || ' no. ' || g,
                100 + g % 5000, 'EUR', 10, now(), now()
         FROM generate_series(1, {n}) g;\n",
        count = WORDS.len(),
    ));
    for index in &indexes {
        script.push_str(index);
        script.push_str(";\n");
    }
    sql(url, &script).await?;
    // On its own: VACUUM cannot run inside the transaction a multi-statement string is.
    sql(url, "VACUUM ANALYZE products").await
}

/// wrk's script: the queries in turn, one per request.
fn searches() -> String {
    let list = QUERIES
        .iter()
        .map(|q| format!("\"/api/v1/products?q={q}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "local paths = {{{list}}}\nlocal i = 0\n\
         request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n"
    )
}

pub(super) async fn run() -> anyhow::Result<()> {
    if !super::wrk::installed() {
        anyhow::bail!("this benchmark drives the server with wrk: apt-get install wrk");
    }
    let small_url = scratch_database_named("trachios_bench_search_small").await?;
    let large_url = scratch_database_named("trachios_bench_search_large").await?;
    catalog(&small_url, SMALL).await?;
    catalog(&large_url, LARGE).await?;
    let listed = count(&large_url, "SELECT count(*) FROM products").await?;
    let quiet = [("ORDER_STEP_SECONDS", "3600")];
    let small = ReleaseServer::start(&small_url, &quiet).await?;
    let large = ReleaseServer::start(&large_url, &quiet).await?;
    let measure = |base: &str| -> anyhow::Result<WrkFigures> {
        WrkRun {
            origin: base.trim_end_matches("/api/v1"),
            connections: CONNECTIONS,
            seconds: SECONDS,
            token: None,
            script: searches(),
        }
        .run()
    };
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        settle();
        let reference = measure(&small.base)?;
        settle();
        rounds.push((measure(&large.base)?, reference));
    }
    let ratios: Vec<f64> = rounds
        .iter()
        .map(|(large, small)| large.p99_ms / small.p99_ms)
        .collect();
    let over_rounds =
        |pick: fn(&(WrkFigures, WrkFigures)) -> f64| median(rounds.iter().map(pick).collect());
    println!();
    println!(
        "product search (PostgreSQL, {CONNECTIONS} connections, {SECONDS} s rounds; q in turn: {})",
        QUERIES.join(", ")
    );
    println!(
        "  GET /products?q=, {listed} products   p99 {:.1} ms, {:.0} req/s\n    vs {SMALL} products p99 {:.1} ms, {:.0} req/s: p99 ratio {} (target <= 2.00)",
        over_rounds(|(large, _)| large.p99_ms),
        over_rounds(|(large, _)| large.requests_per_second),
        over_rounds(|(_, small)| small.p99_ms),
        over_rounds(|(_, small)| small.requests_per_second),
        median_and_spread(&ratios),
    );
    drop((small, large));
    Ok(())
}
