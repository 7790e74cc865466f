//! The PostgreSQL adapters against a real server, one fresh database per test.

mod accounts;
mod changes;
mod fixture;
mod idempotency;
mod lists;
mod repositories;
mod storable;
