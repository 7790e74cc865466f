//! The stores side by side in one run: the lifecycle draining a backlog, and a cached
//! `GET /orders/{id}`, on the embedded store (SQLite, in-process cache) and on PostgreSQL +
//! Redis.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trachios_domain::ports::{OrderRepository, SystemClock, UserRepository};
use trachios_domain::services::{LifecycleService, NoCache};
use trachios_domain::{
    Email, ItemDescription, Name, NewUser, Order, OrderRequest, PasswordHash, Role,
};
use trachios_sqlite::{SqliteOrderRepository, SqliteSettings, SqliteStore, SqliteUserRepository};

use super::load::{load, Target};
use super::{admin_token, insert_orders, login, scratch_database};
use crate::process::ReleaseServer;

const BACKLOG: usize = 100_000;

/// A scratch directory for the benchmark's SQLite file, removed afterwards.
pub(super) struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    pub(super) fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("trachios-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    pub(super) fn file(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new SQLite file with one customer (id 1) and `orders` orders of theirs, each due
/// `due_in_seconds` from now; the store stays open.
pub(super) async fn sqlite_file(
    path: &std::path::Path,
    orders: usize,
    due_in_seconds: i64,
) -> anyhow::Result<SqliteStore> {
    let (store, _) = SqliteStore::open(SqliteSettings::new(path), None).await?;
    SqliteUserRepository::new(store.clone())
        .insert(NewUser {
            name: Name::parse("Bench")?,
            email: Email::parse("bench@x.io")?,
            password_hash: PasswordHash::new("x".into()),
            role: Role::Customer,
        })
        .await?;
    let now = chrono::Utc::now().timestamp_micros();
    let due = now + due_in_seconds * 1_000_000;
    store
        .execute_batch(format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {orders})
             INSERT INTO orders (customer_id, item_description, status, version, next_step_at, created_at, updated_at)
             SELECT 1, 'Laptop', 'created', 1, {due}, {now}, {now} FROM n;
             ANALYZE;"
        ))
        .await?;
    Ok(store)
}

/// Ticks until nothing is due; transitions per second.
pub(super) async fn drain(service: LifecycleService) -> anyhow::Result<(usize, f64)> {
    let started = Instant::now();
    let mut moved = 0;
    loop {
        match service.tick().await? {
            0 => break,
            n => moved += n,
        }
    }
    Ok((moved, moved as f64 / started.elapsed().as_secs_f64()))
}

pub(super) fn lifecycle(orders: Arc<dyn OrderRepository>) -> anyhow::Result<LifecycleService> {
    Ok(LifecycleService::new(
        orders,
        Arc::new(NoCache),
        Arc::new(SystemClock),
        chrono::Duration::from_std(Duration::from_secs(3600))?,
        1000,
    ))
}

pub(super) async fn run() -> anyhow::Result<()> {
    println!("== stores benchmark: the embedded store next to PostgreSQL + Redis, in one run");
    let scratch = ScratchDir::new()?;

    // The lifecycle draining 100k due orders, one worker, batches of 1000.
    let store = sqlite_file(&scratch.file("lifecycle.db"), BACKLOG, -1).await?;
    let (moved, sqlite_rate) = drain(lifecycle(Arc::new(SqliteOrderRepository::new(
        store.clone(),
    )))?)
    .await?;
    drop(store);
    println!("lifecycle backlog, SQLite:      {moved} transitions, {sqlite_rate:.0} transitions/s");
    let url = scratch_database().await?;
    insert_orders(&url, BACKLOG, "now() - interval '1 second'").await?;
    let pool = trachios_postgres::build_pool(&url, &trachios_postgres::PoolSettings::default())?;
    let (moved, pg_rate) = drain(lifecycle(Arc::new(
        trachios_postgres::PgOrderRepository::new(pool),
    ))?)
    .await?;
    println!("lifecycle backlog, PostgreSQL:  {moved} transitions, {pg_rate:.0} transitions/s");

    // A cached order read by an admin, 50 connections.
    let path = scratch.file("cache.db");
    let store = sqlite_file(&path, 0, 0).await?;
    let order: Order = SqliteOrderRepository::new(store.clone())
        .insert(Order::place(
            trachios_domain::UserId::parse(1)?,
            OrderRequest::free_text(ItemDescription::parse("Laptop")?),
            chrono::Utc::now(),
            chrono::Duration::days(1),
        ))
        .await?;
    drop(store);
    let database_url = format!("sqlite://{}", path.display());
    let mut server = ReleaseServer::start(
        &database_url,
        &[
            ("ADMIN_EMAIL", "bench-admin@x.io"),
            ("ADMIN_PASSWORD", "bench-password"),
        ],
    )
    .await?;
    let token = login(&server.base, "bench-admin@x.io", "bench-password").await?;
    let target = Target::Path(format!("/orders/{}", order.id));
    let sqlite_figures = load(&server.base, &token, target).await?;
    server.stop();
    println!("cached GET, SQLite + in-process: {sqlite_figures}");

    let url = scratch_database().await?;
    insert_orders(&url, 1, "now() + interval '1 day'").await?;
    let redis = crate::services::test_redis_url();
    let prefix = format!("bench-stores-{}:", std::process::id());
    let mut server = ReleaseServer::start(
        &url,
        &[("REDIS_URL", &redis), ("CACHE_KEY_PREFIX", &prefix)],
    )
    .await?;
    let token = admin_token(&server.base).await?;
    let pg_figures = load(&server.base, &token, Target::Path("/orders/1".into())).await?;
    server.stop();
    println!("cached GET, PostgreSQL + Redis: {pg_figures}");
    Ok(())
}
