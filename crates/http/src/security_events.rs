//! Refused logins and tokens, for whoever watches for attacks: each is logged with the
//! client's address, the reason and — for logins — a keyed hash of the email (the same
//! address always gives the same hash, so an attack on one account stands out, but the log
//! does not hold the addresses people typed), and counted in
//! `trachios_security_events_total{event, reason}`.

use std::net::IpAddr;

use hmac::{KeyInit, Mac};

use crate::derived_key::{derive_key, HmacSha256};
use crate::limits::email_key;

/// The key of the email hashes, derived from a server secret; every process of a
/// deployment derives the same, so their logs can be read together.
#[derive(Clone)]
pub struct SecurityEvents {
    key: [u8; 32],
}

impl SecurityEvents {
    pub fn derive(secret: &[u8]) -> Self {
        Self {
            key: derive_key(secret, b"trachios security event email key"),
        }
    }

    /// A login (or a password change's check of the current password) was refused.
    pub(crate) fn login_refused(&self, client: Option<IpAddr>, email: &str, reason: &'static str) {
        let email = self.email_hash(email);
        tracing::warn!(
            event = "login_refused",
            client = client.map(|ip| ip.to_string()),
            email_hash = %email,
            reason,
            "login refused"
        );
        count("login_refused", reason);
    }

    /// A request's bearer token did not authenticate.
    pub(crate) fn token_refused(&self, client: Option<IpAddr>, reason: &'static str) {
        tracing::warn!(
            event = "token_refused",
            client = client.map(|ip| ip.to_string()),
            reason,
            "token refused"
        );
        count("token_refused", reason);
    }

    /// The first 16 hex digits of HMAC-SHA256 of the email as the limits key it.
    fn email_hash(&self, email: &str) -> String {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(email_key(email).as_bytes());
        mac.finalize().into_bytes()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for SecurityEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecurityEvents(<key redacted>)")
    }
}

fn count(event: &'static str, reason: &'static str) {
    metrics::counter!("trachios_security_events_total", "event" => event, "reason" => reason)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_hashes_the_same_whatever_its_case_and_differs_by_key() {
        let events = SecurityEvents::derive(b"one secret");
        let hash = events.email_hash("Jo@x.io ");
        assert_eq!(hash, events.email_hash("jo@x.io"));
        assert_eq!(hash.len(), 16);
        assert!(!hash.contains("jo"));
        assert_ne!(hash, events.email_hash("al@x.io"));
        assert_ne!(
            hash,
            SecurityEvents::derive(b"another").email_hash("jo@x.io")
        );
        assert_eq!(format!("{events:?}"), "SecurityEvents(<key redacted>)");
    }
}
