use std::time::Duration;

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncPgConnection;
use trachios_domain::DomainError;

pub use diesel_async::pooled_connection::deadpool::BuildError;

/// The shared PostgreSQL connection pool.
pub type PgPool = Pool<AsyncPgConnection>;
pub(crate) type PgConn = Object<AsyncPgConnection>;
pub(crate) type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// Pool sizing and the bounds on waiting for a connection.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a request waits for a connection before answering 503.
    pub timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            timeout: Duration::from_secs(3),
        }
    }
}

/// Builds the pool lazily: no connection is made until the first query, so the service
/// starts (and recovers) while PostgreSQL is still coming up.
pub fn build_pool(database_url: &str, settings: &PoolSettings) -> Result<PgPool, BuildError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.timeout))
        .recycle_timeout(Some(settings.timeout))
        .build()
}

pub(crate) async fn connection(pool: &PgPool) -> Result<PgConn, DomainError> {
    pool.get().await.map_err(crate::error::pool_error)
}

/// A row count for `LIMIT`; the domain's page sizes are small, so saturating is only a
/// guard against a caller passing something absurd.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
