//! The PostgreSQL adapters against a real server, one fresh database per test.

mod accounts;
mod fixture;
mod lists;
mod repositories;
mod storable;
