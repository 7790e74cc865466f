//! The cache benchmark: `GET /orders/{id}` warm, cold, uncached and with Redis down.

use super::load::{load, Target};
use super::{admin_token, insert_orders, scratch_database, ORDERS};
use crate::process::ReleaseServer;

/// A name, the server's environment, and whether every request reads a different order.
type Scenario = (&'static str, Vec<(&'static str, String)>, bool);

pub(super) async fn run() -> anyhow::Result<()> {
    println!("== cache benchmark: GET /orders/{{id}}, 50 concurrent connections, 8 s per scenario");
    let url = scratch_database().await?;
    insert_orders(&url, ORDERS as usize, "now() + interval '1 day'").await?;
    let redis = crate::services::test_redis_url();
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
        let target = if distinct {
            Target::EveryOrder
        } else {
            Target::Path("/orders/1".into())
        };
        let figures = load(&server.base, &token, target).await?;
        server.stop();
        println!("{name:<40} {figures}");
    }
    Ok(())
}
