//! The store the configuration picked, opened: PostgreSQL with its change follower, or the
//! embedded SQLite file, which publishes its own commits.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use trachios_domain::ports::{
    AccountStates, ChangePublisher, DependencyProbe, OrderRepository, ProductRepository,
    UserRepository, WebhookRepository,
};
use trachios_domain::DomainError;
use trachios_memory::ChangeHub;
use trachios_postgres::{
    build_pool, ChangeFollower, FollowerSettings, PgAccountStates, PgOrderRepository, PgPool,
    PgProbe, PgProductRepository, PgUserRepository, PgWebhookRepository, PoolSettings,
};
use trachios_sqlite::{
    SqliteAccountStates, SqliteOrderRepository, SqliteProbe, SqliteProductRepository,
    SqliteSettings, SqliteStore, SqliteUserRepository, SqliteWebhookRepository,
};

use crate::config::StoreChoice;
use crate::Settings;

/// The ports one store provides.
pub struct Store {
    pub users: Arc<dyn UserRepository>,
    pub orders: Arc<dyn OrderRepository>,
    pub account_states: Arc<dyn AccountStates>,
    pub webhooks: Arc<dyn WebhookRepository>,
    pub products: Arc<dyn ProductRepository>,
    pub probe: Arc<dyn DependencyProbe>,
    pub backend: Backend,
    /// Reads PostgreSQL's events into the feed; the embedded store needs none.
    pub follower: Option<ChangeFollower>,
}

/// The store's own handle, for what only it knows: its pool, its cache epoch, closing.
#[derive(Clone)]
pub enum Backend {
    Postgres(PgPool),
    Sqlite(SqliteStore),
}

/// Pool connections as the metrics show them.
pub struct PoolCounts {
    pub open: usize,
    pub idle: usize,
    pub max: usize,
    pub waiting: usize,
}

impl Backend {
    /// The database's random identity, which Redis cache entries carry.
    pub async fn cache_epoch(&self) -> Result<String, DomainError> {
        match self {
            Backend::Postgres(pool) => trachios_postgres::cache_epoch(pool).await,
            Backend::Sqlite(store) => trachios_sqlite::cache_epoch(store).await,
        }
    }

    pub fn pool_counts(&self) -> PoolCounts {
        // Both are deadpool pools; the embedded store's holds its readers.
        let status = match self {
            Backend::Postgres(pool) => pool.status(),
            Backend::Sqlite(store) => store.readers_status(),
        };
        PoolCounts {
            open: status.size,
            idle: status.available,
            max: status.max_size,
            waiting: status.waiting,
        }
    }

    pub fn close(&self) {
        match self {
            Backend::Postgres(pool) => pool.close(),
            Backend::Sqlite(store) => store.close(),
        }
    }
}

/// Opens the configured store, migrating it first when `MIGRATE_ON_START` says so;
/// committed changes of orders reach `feed`.
pub async fn open(settings: &Settings, feed: &ChangeHub) -> anyhow::Result<Store> {
    match settings.store()? {
        StoreChoice::Postgres(url) => open_postgres(settings, url.expose_secret(), feed).await,
        StoreChoice::Sqlite(path) => open_sqlite(settings, &path, feed).await,
    }
}

async fn open_postgres(settings: &Settings, url: &str, feed: &ChangeHub) -> anyhow::Result<Store> {
    if settings.database.migrate_on_start {
        let applied = trachios_postgres::migrate(url)
            .await
            .context("applying migrations")?;
        tracing::info!(count = applied.len(), migrations = ?applied, "migrations applied");
    }
    let pool = build_pool(
        url,
        &PoolSettings {
            max_size: settings.database.pool_size,
            ..PoolSettings::default()
        },
    )
    .context("building the database pool")?;
    tracing::info!(store = "postgres", "store opened");
    Ok(Store {
        users: Arc::new(PgUserRepository::new(pool.clone())),
        orders: Arc::new(PgOrderRepository::new(pool.clone())),
        account_states: Arc::new(PgAccountStates::new(pool.clone())),
        webhooks: Arc::new(PgWebhookRepository::new(pool.clone())),
        products: Arc::new(PgProductRepository::new(pool.clone())),
        probe: Arc::new(PgProbe::new(pool.clone())),
        follower: Some(ChangeFollower::new(
            pool.clone(),
            Arc::new(feed.clone()),
            FollowerSettings::default(),
        )),
        backend: Backend::Postgres(pool),
    })
}

async fn open_sqlite(settings: &Settings, path: &Path, feed: &ChangeHub) -> anyhow::Result<Store> {
    let publisher: Arc<dyn ChangePublisher> = Arc::new(feed.clone());
    let (store, applied) = SqliteStore::open(
        SqliteSettings {
            readers: settings.database.pool_size,
            migrate: settings.database.migrate_on_start,
            ..SqliteSettings::new(path)
        },
        Some(publisher),
    )
    .await
    .context("opening the embedded store")?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), migrations = ?applied, "migrations applied");
    }
    tracing::info!(store = "sqlite", path = %path.display(), "store opened");
    Ok(Store {
        users: Arc::new(SqliteUserRepository::new(store.clone())),
        orders: Arc::new(SqliteOrderRepository::new(store.clone())),
        account_states: Arc::new(SqliteAccountStates::new(store.clone())),
        webhooks: Arc::new(SqliteWebhookRepository::new(store.clone())),
        products: Arc::new(SqliteProductRepository::new(store.clone())),
        probe: Arc::new(SqliteProbe::new(store.clone())),
        follower: None,
        backend: Backend::Sqlite(store),
    })
}
