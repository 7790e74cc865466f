//! Webhook delivery out over HTTP: each event signed with its endpoint's secret, sent only
//! to public addresses (unless configured otherwise), never following redirects.

mod guard;
mod payload;
mod resolver;
mod signature;
mod transport;

pub use guard::{is_public, DestinationGuard};
pub use payload::event_body;
pub use signature::{sign, SIGNATURE_HEADER};
pub use transport::{HttpTransport, TransportSettings, EVENT_ID_HEADER};
