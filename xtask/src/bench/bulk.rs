//! `cargo xtask bench bulk`: `POST /orders/bulk` cancelling 1,000 orders with a line each
//! (each its own change, stock returned, event and webhook rows written), next to the same
//! 1,000 cancels sent as single `PUT /orders/{id}/status` requests one after another.

use std::time::Instant;

use anyhow::{bail, Context};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use super::rounds::{median, ROUNDS};
use super::{admin_token, buyer_and_product, place_order, scratch_database};
use crate::process::ReleaseServer;

const ORDERS: usize = 1000;
/// Clients placing the orders a round cancels.
const PLACING: usize = 16;

/// Places `ORDERS` orders of one mug each; their ids.
async fn place(client: &reqwest::Client, base: &str, buyer: &str) -> anyhow::Result<Vec<i64>> {
    futures_util::stream::iter(0..ORDERS)
        .map(|_| async move {
            place_order(
                client,
                base,
                buyer,
                &json!({"lines": [{"sku": "MUG-01", "quantity": 1}]}),
            )
            .await
        })
        .buffer_unordered(PLACING)
        .try_collect()
        .await
}

pub(super) async fn run() -> anyhow::Result<()> {
    let url = scratch_database().await?;
    let server = ReleaseServer::start(
        &url,
        &[
            ("REDIS_URL", crate::services::test_redis_url().as_str()),
            ("ORDER_STEP_SECONDS", "3600"),
            ("LOGIN_RATE_PER_MINUTE", "0"),
            ("AUTH_RATE_PER_MINUTE", "0"),
            ("ORDER_RATE_PER_MINUTE", "0"),
            ("OPEN_ORDERS_PER_USER", "0"),
        ],
    )
    .await?;
    let base = server.base.clone();
    let admin = admin_token(&base).await?;
    let client = reqwest::Client::new();
    let buyer = buyer_and_product(&base, &admin, ("MUG-01", "Enamel mug", 1_000_000)).await?;

    let mut bulk_ms = Vec::with_capacity(ROUNDS);
    let mut single_ms = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let ids = place(&client, &base, &buyer).await?;
        super::quiet::settle();
        let started = Instant::now();
        let answer: Value = client
            .post(format!("{base}/orders/bulk"))
            .bearer_auth(&admin)
            .json(&json!({"ids": ids, "action": "cancel"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        bulk_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let results = answer["results"].as_array().context("results")?;
        let cancelled = results
            .iter()
            .filter(|r| r["ok"] == true && r["order"]["status"] == "cancelled")
            .count();
        if cancelled != ORDERS {
            bail!("the bulk cancel cancelled {cancelled} of {ORDERS} orders");
        }

        let ids = place(&client, &base, &buyer).await?;
        super::quiet::settle();
        let started = Instant::now();
        for id in ids {
            client
                .put(format!("{base}/orders/{id}/status"))
                .bearer_auth(&admin)
                .json(&json!({"status": "cancelled"}))
                .send()
                .await?
                .error_for_status()?;
        }
        single_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    drop(server);

    println!();
    println!(
        "bulk cancel (PostgreSQL + Redis, {ORDERS} orders of one line each, {ROUNDS} rounds; medians)"
    );
    println!(
        "  POST /orders/bulk, {ORDERS} ids               {:>7.0} ms a request (target < 2000)",
        median(bulk_ms)
    );
    println!(
        "    vs {ORDERS} PUT /orders/{{id}}/status in turn {:>7.0} ms",
        median(single_ms)
    );
    Ok(())
}
