//! Idempotent order creation: a client that retries a `POST /orders` with the same key
//! gets the first answer again instead of a second order.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::{DomainError, Order};

/// How long a key and its kept answer are remembered.
pub const IDEMPOTENCY_KEY_LIFETIME: Duration = Duration::hours(24);

/// A client's name for one intended creation: 1–255 printable ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let printable = raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if raw.is_empty() || raw.len() > 255 || !printable {
            return Err(DomainError::Validation(
                "Idempotency-Key must be 1-255 printable ASCII characters".to_owned(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keys are chosen by clients and may be secrets of theirs; logs see their length only.
impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({} bytes)", self.0.len())
    }
}

/// A digest of what a request asked for, so that a key reused for a different request is
/// told apart from a retry without keeping the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFingerprint(pub [u8; 32]);

/// A claim on a key for one creation, as the store records it with the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClaim {
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    pub expires_at: DateTime<Utc>,
}

/// What the store did with an insert under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyedInsert {
    /// The key was free (or expired): the order was stored with it.
    Inserted(Order),
    /// The key is taken by an earlier request: this is what it asked for and what it got.
    Taken {
        fingerprint: RequestFingerprint,
        kept: Order,
    },
}

/// The answer to an order creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creation {
    Created(Order),
    /// The kept answer to an earlier request with the same key; nothing was created.
    Replayed(Order),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("order 7: ~!@#").is_ok());
        for bad in ["", "\t", "naïve", "line\nbreak", "\u{7f}"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let key = IdempotencyKey::parse("secret-key-42").unwrap();
        assert!(!format!("{key:?}").contains("secret"));
    }
}
