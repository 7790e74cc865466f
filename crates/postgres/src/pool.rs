use std::time::Duration;

use deadpool::managed::{Manager, Metrics, Object, Pool, RecycleError, RecycleResult};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolableConnection,
};
use diesel_async::AsyncPgConnection;
use futures_util::FutureExt;
use trachios_domain::DomainError;

use crate::endpoint::{EndpointError, PgEndpoint};

pub use deadpool::managed::BuildError;

/// Why the pool could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PoolSetupError {
    #[error("DATABASE_URL: {0}")]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// The shared PostgreSQL connection pool.
pub type PgPool = Pool<PgConnections>;
pub(crate) type PgConn = Object<PgConnections>;
pub(crate) type PoolError =
    deadpool::managed::PoolError<diesel_async::pooled_connection::PoolError>;

/// A connection unused for this long is pinged before it is handed out again.
const VERIFY_IDLE_AFTER: Duration = Duration::from_secs(5);

/// diesel-async's connection manager, but a connection in steady use is handed out without
/// the `SELECT 1` that diesel-async sends before every checkout — a round trip per request,
/// a third of a cached write's time. A connection the server closed (a restart, a
/// terminated session) is seen as closed without a query and replaced; one idle long enough
/// for a firewall or failover to have dropped it silently is pinged first, as before.
pub struct PgConnections {
    inner: AsyncDieselConnectionManager<AsyncPgConnection>,
}

impl Manager for PgConnections {
    type Type = AsyncPgConnection;
    type Error = diesel_async::pooled_connection::PoolError;

    async fn create(&self) -> Result<AsyncPgConnection, Self::Error> {
        self.inner.create().await
    }

    async fn recycle(
        &self,
        conn: &mut AsyncPgConnection,
        metrics: &Metrics,
    ) -> RecycleResult<Self::Error> {
        if conn.is_broken() {
            return Err(RecycleError::Message("closed or broken connection".into()));
        }
        if metrics.last_used() < VERIFY_IDLE_AFTER {
            return Ok(());
        }
        self.inner.recycle(conn, metrics).await
    }
}

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
pub fn build_pool(database_url: &str, settings: &PoolSettings) -> Result<PgPool, PoolSetupError> {
    let endpoint = PgEndpoint::parse(database_url)?;
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(move |_| {
        let endpoint = endpoint.clone();
        async move { endpoint.connect().await }.boxed()
    });
    let manager = PgConnections {
        inner: AsyncDieselConnectionManager::new_with_config(database_url, config),
    };
    Pool::builder(manager)
        .max_size(settings.max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.timeout))
        .recycle_timeout(Some(settings.timeout))
        .build()
        .map_err(PoolSetupError::from)
}

pub(crate) async fn connection(pool: &PgPool) -> Result<PgConn, DomainError> {
    pool.get().await.map_err(crate::error::pool_error)
}

/// A row count for `LIMIT`; the domain's page sizes are small, so saturating is only a
/// guard against a caller passing something absurd.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
