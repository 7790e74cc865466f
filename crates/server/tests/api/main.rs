//! End-to-end tests: the real server on a random port, a fresh PostgreSQL database per
//! test, and plain HTTP.

mod account_control;
mod accounts;
mod authorization;
mod browser;
mod cache;
mod catalog;
mod contract;
mod deployment;
mod embedded;
mod export;
mod fanout;
mod helpers;
mod idempotency;
mod inputs;
mod last_units;
mod lifecycle;
mod limits;
mod list_cache;
mod lists;
mod operations;
mod order_edits;
mod order_lines;
mod orders;
mod outages;
mod pages;
mod partition;
mod receiver;
mod sealed_keys;
mod server_process;
mod shop_pages;
mod shutdown;
mod sse;
mod tracking;
mod transfer;
mod webhooks;
