//! The Trachios server: configuration, telemetry, wiring of adapters into services, the
//! lifecycle worker and graceful shutdown.

pub mod config;
pub mod deliveries;
pub mod healthcheck;
pub mod housekeeping;
pub mod lifecycle;
pub mod metrics;
mod rounds;
pub mod seed;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod transfer;

pub use config::Settings;
pub use startup::Application;
