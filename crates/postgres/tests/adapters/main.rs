//! The PostgreSQL adapters against a real server, one fresh database per test.

mod accounts;
mod fixture;
mod follower;
mod idempotency;
mod lists;
mod repositories;
mod storable;
