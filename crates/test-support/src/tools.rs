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

/// Runs SQL straight against an embedded store's file, beside the server that has it open
/// (SQLite in WAL mode lets a second connection write), as `psql` does for PostgreSQL.
pub fn sqlite_exec(path: &std::path::Path, sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let url = path.to_string_lossy();
    let mut conn =
        diesel::SqliteConnection::establish(&url).unwrap_or_else(|e| panic!("opening {url}: {e}"));
    conn.batch_execute("PRAGMA busy_timeout = 5000")
        .and_then(|()| conn.batch_execute(sql))
        .unwrap_or_else(|e| panic!("{sql} on {url}: {e}"));
}

#[derive(diesel::QueryableByName)]
struct TextValue {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// The one text value `sql` (`SELECT … AS value`) reads straight from an embedded store's
/// file, as `psql` does for PostgreSQL.
pub fn sqlite_value(path: &std::path::Path, sql: &str) -> String {
    use diesel::{Connection, RunQueryDsl};
    let url = path.to_string_lossy();
    let mut conn =
        diesel::SqliteConnection::establish(&url).unwrap_or_else(|e| panic!("opening {url}: {e}"));
    let rows: Vec<TextValue> = diesel::sql_query(sql)
        .load(&mut conn)
        .unwrap_or_else(|e| panic!("{sql} on {url}: {e}"));
    rows.into_iter()
        .next()
        .unwrap_or_else(|| panic!("{sql} on {url} read no row"))
        .value
}
