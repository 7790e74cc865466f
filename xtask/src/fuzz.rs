//! `cargo xtask fuzz`: the server on a fresh database, then schemathesis against it with the
//! OpenAPI document the server generates. Fails on any 5xx, any answer the document does not
//! describe, and any invalid request accepted.

use std::process::Command;

use anyhow::{bail, Context};

use crate::process::ReleaseServer;

const FUZZ_DB: &str = "trachios_fuzz";
const ADMIN_EMAIL: &str = "fuzz-admin@trachios.test";
const ADMIN_PASSWORD: &str = "fuzz-admin-password";
/// The same generated cases every run, so that CI does not pass or fail by luck; set
/// `FUZZ_SEED` to explore others.
const DEFAULT_SEED: &str = "20261201";

/// `cargo xtask fuzz`: against the PostgreSQL and Redis the tests are pointed at.
pub async fn run(extra: &[String]) -> anyhow::Result<()> {
    let postgres = crate::services::test_postgres_server();
    let redis = crate::services::test_redis_url();
    run_against(&postgres, &redis, extra).await
}

/// The fuzzing on the PostgreSQL server at `postgres` (any database) and the Redis at `redis`.
pub async fn run_against(postgres: &str, redis: &str, extra: &[String]) -> anyhow::Result<()> {
    if Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!("schemathesis is not installed: pip install schemathesis");
    }
    let postgres = trachios_postgres::with_database(postgres, "postgres");
    trachios_postgres::drop_database(&postgres, FUZZ_DB).await?;
    trachios_postgres::create_database_if_missing(&postgres, FUZZ_DB).await?;
    let database_url = trachios_postgres::with_database(&postgres, FUZZ_DB);

    let mut server = ReleaseServer::start_debug(
        &database_url,
        &[
            ("ADMIN_EMAIL", ADMIN_EMAIL),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("CACHE_ENABLED", "true"),
            ("REDIS_URL", redis),
            ("CACHE_KEY_PREFIX", "trachios-fuzz:"),
            // The limits have tests of their own; here they would only turn cases into 429s.
            ("LOGIN_RATE_PER_MINUTE", "0"),
            ("AUTH_RATE_PER_MINUTE", "0"),
            ("ORDER_RATE_PER_MINUTE", "0"),
            ("LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR", "0"),
            ("OPEN_ORDERS_PER_USER", "0"),
        ],
    )
    .await?;
    let outcome = fuzz(&server.base, extra).await;
    server.stop();
    trachios_postgres::drop_database(&postgres, FUZZ_DB).await?;
    outcome
}

async fn fuzz(base: &str, extra: &[String]) -> anyhow::Result<()> {
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .context("the login answer has a token")?;
    let origin = base.trim_end_matches("/api/v1");
    let seed = std::env::var("FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/schemathesis.toml");
    let status = Command::new("schemathesis")
        // The hooks path in the configuration is relative to the workspace root.
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["--config-file", config, "run"])
        .arg(format!("{base}/openapi.json"))
        .args(["--url", origin, "--checks", "all", "--seed", &seed])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(extra)
        .status()
        .context("running schemathesis")?;
    if !status.success() {
        bail!("schemathesis found failures (seed {seed})");
    }
    Ok(())
}
