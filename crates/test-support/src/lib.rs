//! Test fixtures shared by the adapter and end-to-end suites: a fresh PostgreSQL database
//! per test cloned from a migrated template, a scratch directory per SQLite file, a private `redis-server` per test that needs
//! one, and a tracing subscriber switched on by `TEST_LOG=1`.

mod databases;
mod logging;
mod redis_server;
mod rendering;
mod scratch;
mod tls_servers;
mod tools;

pub use databases::{base_database_url, database_name, fresh_database};
pub use logging::init_test_logging;
pub use redis_server::{redis_cli, shared_redis_url, PrivateRedis};
pub use rendering::{rendered_by_domain_json, DomainJson};
pub use scratch::ScratchDatabase;
pub use tls_servers::{
    as_postgres_user, free_port, is_root, postgres_bin, TestCertificates, TlsPostgres, TlsRedis,
};
pub use tools::{psql, sqlite_exec, sqlite_value};
