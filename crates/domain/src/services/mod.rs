//! Use cases, written against the ports.

mod accounts;
mod lifecycle;
mod no_cache;
mod orders;

pub use accounts::{AccountService, LoginOutcome};
pub use lifecycle::LifecycleService;
pub use no_cache::NoCache;
pub use orders::OrderService;

#[cfg(test)]
pub(crate) mod fixtures;
