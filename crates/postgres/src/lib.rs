//! PostgreSQL adapters: the user and order repositories on diesel-async, the connection
//! pool and the embedded migrations.

mod accounts;
mod admin;
mod changes;
mod epoch;
mod error;
mod explain;
mod history;
mod listener;
mod migrations;
mod orders;
mod pool;
mod rows;
pub mod schema;
mod users;

pub use accounts::PgAccountStates;
pub use admin::{
    create_database_from_template, create_database_if_missing, databases_with_prefix,
    drop_database, with_database, AdminError,
};
pub use changes::{parse_payload, OrderChanged, CHANNEL};
pub use epoch::cache_epoch;
pub use history::{order_history, orders_with_event_counts};
pub use listener::{
    ChangeListener, ListenerSettings, LISTENER_APPLICATION_NAME, MAX_ORDERS_PER_PUBLISH,
};
pub use migrations::{migrate, migration_status, revert_last, MigrationError, MigrationState};
pub use orders::PgOrderRepository;
pub use pool::{build_pool, BuildError, PgPool, PoolSettings};
pub use users::PgUserRepository;
