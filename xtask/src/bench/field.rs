//! The field-safety benchmark: memory and answers under 500 concurrent logins, and what
//! a list page costs in a small table and in one of a million orders.

use std::collections::BTreeMap;

use anyhow::Context;

use super::load::{load, Target};
use super::{admin_token, scratch_database, sql};
use crate::process::ReleaseServer;

const CONCURRENT_LOGINS: usize = 500;
const BIG_TABLE: usize = 1_000_000;

pub(super) async fn run() -> anyhow::Result<()> {
    logins().await?;
    lists().await
}

/// Rate limits off (as if 500 clients came from 500 addresses), so that only the hashing
/// admission stands between the logins and the memory; then with the default limits.
async fn logins() -> anyhow::Result<()> {
    let cores = super::cores();
    println!(
        "== {CONCURRENT_LOGINS} concurrent POST /login (HASH_CONCURRENCY = {cores} CPUs, HASH_QUEUE 256); \
         target peak RSS < {cores} x 19 MiB + 100 MiB = {} MiB",
        cores * 19 + 100
    );
    let url = scratch_database().await?;
    let scenarios: [(&str, Vec<(&str, &str)>); 2] = [
        (
            "rate limits off (many addresses)",
            vec![
                ("LOGIN_RATE_PER_MINUTE", "0"),
                ("AUTH_RATE_PER_MINUTE", "0"),
                ("LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR", "0"),
            ],
        ),
        ("default limits (one address)", vec![]),
    ];
    for (name, env) in scenarios {
        sql(&url, "DELETE FROM users WHERE email = 'login@x.io'").await?;
        let server = ReleaseServer::start(&url, &env).await?;
        let client = reqwest::Client::new();
        let registered = client
            .post(format!("{}/register", server.base))
            .json(&serde_json::json!({"name": "Jo", "email": "login@x.io", "password": "password-123"}))
            .send()
            .await?
            .status();
        anyhow::ensure!(registered.is_success(), "registering answered {registered}");
        let idle = server.rss_kib()?;
        let started = std::time::Instant::now();
        let answers = concurrent_logins(&server.base).await?;
        let took = started.elapsed();
        let peak = server.peak_rss_kib()?;
        let summary: Vec<String> = answers.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        println!(
            "{name:<34} idle {:>5.1} MiB  peak {:>6.1} MiB  in {:>5.2} s  answers {}",
            idle as f64 / 1024.0,
            peak as f64 / 1024.0,
            took.as_secs_f64(),
            summary.join(", ")
        );
    }
    Ok(())
}

/// Fires the logins all at once, each on its own connection, half with a wrong password;
/// counts the answers by status (and whether a 429/503 said when to retry).
async fn concurrent_logins(base: &str) -> anyhow::Result<BTreeMap<String, usize>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(120))
        .build()?;
    let tasks: Vec<_> = (0..CONCURRENT_LOGINS)
        .map(|i| {
            let (client, url) = (client.clone(), format!("{base}/login"));
            tokio::spawn(async move {
                let password = if i % 2 == 0 {
                    "password-123"
                } else {
                    "wrong-password"
                };
                match client
                    .post(url)
                    .json(&serde_json::json!({"email": "login@x.io", "password": password}))
                    .send()
                    .await
                {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let retry = res.headers().contains_key("retry-after");
                        match status {
                            429 | 503 if !retry => format!("{status} WITHOUT Retry-After"),
                            other => other.to_string(),
                        }
                    }
                    Err(err) => format!("transport error ({err})"),
                }
            })
        })
        .collect();
    let mut answers = BTreeMap::new();
    for task in tasks {
        *answers.entry(task.await?).or_insert(0) += 1;
    }
    Ok(answers)
}

/// A customer with 100 orders: their first page, and the admin's first page of `created`
/// orders, before and after a million other orders are in the table.
async fn lists() -> anyhow::Result<()> {
    println!("== list pages (limit=100), 50 connections, 8 s each");
    let url = scratch_database().await?;
    let env = [
        ("ORDER_RATE_PER_MINUTE", "0"),
        ("AUTH_RATE_PER_MINUTE", "0"),
    ];
    let server = ReleaseServer::start(&url, &env).await?;
    let admin = admin_token(&server.base).await?;
    let customer = customer_token(&server.base).await?;
    sql(
        &url,
        "INSERT INTO orders (customer_id, item_description, next_step_at)
         SELECT u.id, 'Laptop', now() + interval '1 day'
         FROM users u, generate_series(1, 100) WHERE u.email = 'lists@x.io';
         ANALYZE orders;",
    )
    .await?;
    let pages = [
        (
            "GET /my-orders?limit=100 (customer with 100 orders)",
            "/my-orders?limit=100",
            &customer,
        ),
        (
            "GET /orders?status=created&limit=100 (admin)",
            "/orders?status=created&limit=100",
            &admin,
        ),
    ];
    for (name, path, token) in pages {
        let figures = load(&server.base, token, Target::Path(path.into())).await?;
        println!("{name:<55} {:>9} orders  {figures}", 100);
    }
    let started = std::time::Instant::now();
    // A million orders of 10,000 other customers, 1 % still `created`, spread over the
    // whole table (the hard case: the newest rows are not the matching ones).
    sql(
        &url,
        &format!(
            "INSERT INTO users (name, email, password_hash)
                 SELECT 'U', 'u' || g || '@x.io', 'x' FROM generate_series(1, 10000) g;
             INSERT INTO orders (customer_id, item_description, status, next_step_at, created_at)
                 SELECT (SELECT min(id) FROM users WHERE email LIKE 'u%@x.io') + g % 10000, 'Laptop',
                        CASE WHEN g % 100 = 0 THEN 'created'::order_status ELSE 'delivered' END,
                        CASE WHEN g % 100 = 0 THEN now() + interval '1 day' END,
                        now() - make_interval(secs => {BIG_TABLE} - g)
                 FROM generate_series(1, {BIG_TABLE}) g;"
        ),
    )
    .await
    .context("loading a million orders")?;
    // On its own: VACUUM cannot run inside the transaction a multi-statement batch is.
    sql(&url, "VACUUM ANALYZE orders").await?;
    println!(
        "(loaded {BIG_TABLE} more orders in {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    for (name, path, token) in pages {
        let figures = load(&server.base, token, Target::Path(path.into())).await?;
        println!("{name:<55} {:>9} orders  {figures}", BIG_TABLE + 100);
    }
    Ok(())
}

async fn customer_token(base: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let body =
        serde_json::json!({"name": "Lists", "email": "lists@x.io", "password": "password-123"});
    client
        .post(format!("{base}/register"))
        .json(&body)
        .send()
        .await?;
    let login: serde_json::Value = client
        .post(format!("{base}/login"))
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"].as_str().context("login failed")?.to_owned())
}
