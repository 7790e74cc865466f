//! Command-line tools the tests use to look behind the service (psql, redis-cli).

use tokio::process::Command;

/// Runs `program ARGS…` and returns its trimmed output, failing the test when the tool is
/// missing or fails: a check that could not run must not pass.
pub(crate) async fn run_tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program} is installed: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs one SQL statement with `psql` straight against a database; returns what it printed
/// (the single value of a `SELECT count(*)`, say), unaligned and without headers.
pub async fn psql(database_url: &str, sql: &str) -> String {
    run_tool(
        "psql",
        &[database_url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
    )
    .await
}
