//! Use cases, written against the ports.

mod accounts;
mod bulk;
mod catalog;
mod deliveries;
mod export;
mod lifecycle;
mod no_cache;
mod orders;
mod readiness;
mod sessions;
mod telemetry;
mod tracking;
mod user_admin;
mod webhooks;

pub use accounts::{AccountService, LoginOutcome};
pub use catalog::{CatalogService, ProductDraft};
pub use deliveries::DeliveryService;
pub use export::{OrderExport, OrderExportService};
pub use lifecycle::LifecycleService;
pub use no_cache::NoCache;
pub use orders::OrderService;
pub use readiness::{CacheBackend, CacheState, Readiness, ReadinessService, ReadyStatus};
pub use sessions::SessionService;
pub use tracking::{OrderWatch, TrackingService, WatchItem, WatchTiming};
pub use user_admin::UserAdminService;
pub use webhooks::{CreatedWebhook, ResealReport, WebhookService};

#[cfg(test)]
pub(crate) mod fixtures;
