//! Use cases, written against the ports.

mod accounts;
mod lifecycle;
mod no_cache;
mod orders;
mod sessions;
mod tracking;
mod user_admin;

pub use accounts::{AccountService, LoginOutcome};
pub use lifecycle::LifecycleService;
pub use no_cache::NoCache;
pub use orders::OrderService;
pub use sessions::SessionService;
pub use tracking::{OrderWatch, TrackingService, WatchItem, WatchTiming};
pub use user_admin::UserAdminService;

#[cfg(test)]
pub(crate) mod fixtures;
