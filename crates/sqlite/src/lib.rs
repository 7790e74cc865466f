//! The embedded store: users, orders with their history, idempotency keys and account
//! state on one SQLite file, for zero-setup use by one server process.
//!
//! Synchronous diesel on blocking threads: each call runs whole on one connection inside
//! `spawn_blocking`, so a transaction can never be left open by a future that was dropped
//! half-way (the hazard of async wrappers around a synchronous driver). Writes go through
//! one writer connection, one at a time, each in an immediate transaction (SQLite allows a
//! single writer anyway; queueing in the process is fairer than retrying on `SQLITE_BUSY`),
//! and publish their changes to the process's feed before the next write starts, so
//! subscribers see them in commit order. Reads use a pool of connections that WAL lets run
//! beside the writer.

mod accounts;
mod bulk_keys;
mod connection;
mod epoch;
mod error;
mod export;
mod file_lock;
mod fts;
mod migrations;
mod order_edits;
mod orders;
mod probe;
mod products;
mod rows;
mod schema;
mod stock;
mod store;
mod users;
mod webhooks;

pub use accounts::SqliteAccountStates;
pub use epoch::cache_epoch;
pub use file_lock::LockError;
pub use migrations::MIGRATIONS;
pub use orders::SqliteOrderRepository;
pub use probe::SqliteProbe;
pub use products::SqliteProductRepository;
pub use store::{OpenError, SqliteSettings, SqliteStore};
pub use users::SqliteUserRepository;
pub use webhooks::SqliteWebhookRepository;
