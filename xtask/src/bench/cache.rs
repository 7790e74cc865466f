//! The cache benchmark: `GET /orders/{id}` warm, cold, uncached and with Redis down.

use anyhow::Context;

use super::load::load;
use super::{insert_orders, scratch_database, server_url, sql, BENCH_DB, ORDERS};
use crate::process::ReleaseServer;

/// A name, the server's environment, and whether every request reads a different order.
type Scenario = (&'static str, Vec<(&'static str, String)>, bool);

pub(super) async fn run() -> anyhow::Result<()> {
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
