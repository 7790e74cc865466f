//! What one client may cost the service: request rates, open streams, exports, and how
//! long a body may take.

mod client_ip;
mod exports;
mod gcra;
mod rates;
mod streams;

use std::time::Duration;

pub use client_ip::TrustedProxies;
pub(crate) use client_ip::{client_ip_of, ClientIp};
pub use exports::{ExportPace, ExportSlots};
pub(crate) use rates::email_key;
pub use rates::{RateLimits, RatesPerMinute, FORGET_IDLE_EVERY};
pub use streams::{StreamSlot, StreamSlots};

/// A request body must arrive within this; `None` waits as long as the client takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyTimeout(pub Option<Duration>);
