use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use trachios_domain::BoxError;

/// The SQL under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Any key works as long as every Trachios process uses the same one.
const MIGRATION_LOCK_KEY: i64 = 0x7472_6163_6869_6f73; // "trachios"

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
#[error("migration failed")]
pub struct MigrationError(#[source] BoxError);

fn fail(e: impl Into<BoxError>) -> MigrationError {
    MigrationError(e.into())
}

/// One migration and whether it has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// Runs `work` on a sync diesel connection (what diesel_migrations needs) holding an
/// advisory lock, so that several instances starting together migrate one at a time.
async fn with_locked_connection<T: Send + 'static>(
    database_url: &str,
    work: impl FnOnce(&mut SyncConn) -> Result<T, MigrationError> + Send + 'static,
) -> Result<T, MigrationError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Handle::current();
        let mut conn = SyncConn::from(
            runtime
                .block_on(crate::endpoint::connect(&url))
                .map_err(fail)?,
        );
        let lock = format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})");
        runtime.block_on(conn.batch_execute(&lock)).map_err(fail)?;
        let result = work(&mut conn);
        // Closing the connection below releases the lock as well; unlocking first only
        // lets a waiting instance go on a moment sooner.
        let unlock = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})");
        if let Err(err) = runtime.block_on(conn.batch_execute(&unlock)) {
            tracing::debug!(error = %err, "advisory unlock failed; the lock ends with the session");
        }
        result
    })
    .await
    .map_err(fail)?
}

/// Applies every pending migration; returns the names of those applied.
pub async fn migrate(database_url: &str) -> Result<Vec<String>, MigrationError> {
    with_locked_connection(database_url, |conn| {
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(fail)?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .await
}

/// Reverts the most recently applied migration; returns its name.
pub async fn revert_last(database_url: &str) -> Result<String, MigrationError> {
    with_locked_connection(database_url, |conn| {
        conn.revert_last_migration(MIGRATIONS)
            .map(|v| v.to_string())
            .map_err(fail)
    })
    .await
}

/// Every known migration, in order, with whether it is applied.
pub async fn migration_status(database_url: &str) -> Result<Vec<MigrationState>, MigrationError> {
    with_locked_connection(database_url, |conn| {
        let applied: Vec<String> = conn
            .applied_migrations()
            .map_err(fail)?
            .iter()
            .map(|v| v.to_string())
            .collect();
        let known = MigrationSource::<Pg>::migrations(&MIGRATIONS).map_err(fail)?;
        Ok(known
            .iter()
            .map(|m| {
                let name = m.name().to_string();
                let version = m.name().version().to_string();
                MigrationState {
                    applied: applied.contains(&version),
                    name,
                }
            })
            .collect())
    })
    .await
}
