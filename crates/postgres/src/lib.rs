//! PostgreSQL adapters: the user and order repositories on diesel-async, the connection
//! pool and the embedded migrations.

mod accounts;
mod admin;
mod bulk_keys;
mod children;
mod endpoint;
mod epoch;
mod error;
mod explain;
mod follower;
mod history;
mod import;
mod like;
mod migrations;
mod order_batches;
mod order_edits;
mod orders;
mod pool;
mod probe;
mod products;
mod rows;
pub mod schema;
mod statement;
mod stock;
mod tls;
mod users;
mod webhooks;

pub use accounts::PgAccountStates;
pub use admin::{
    create_database_from_template, create_database_if_missing, databases_with_prefix,
    drop_database, with_database, AdminError,
};
pub use endpoint::{connect, EndpointError, PgEndpoint};
pub use epoch::cache_epoch;
pub use follower::{ChangeFollower, FollowerSettings, MAX_ORDERS_PER_PUBLISH};
pub use history::{order_history, orders_with_event_counts};
pub use import::{Import, ImportCounts, ImportError};
pub use migrations::{migrate, migration_status, revert_last, MigrationError, MigrationState};
pub use orders::PgOrderRepository;
pub use pool::{build_pool, BuildError, PgPool, PoolSettings, PoolSetupError};
pub use probe::PgProbe;
pub use products::PgProductRepository;
pub use users::PgUserRepository;
pub use webhooks::PgWebhookRepository;

/// Statements as the repositories send them, for benchmarks that run them beside the service.
pub mod statements {
    pub use crate::orders::INSERT_ORDER;
}
