//! Opaque page cursors: the position of the next page, signed so that a client can neither
//! forge one nor alter one without the server noticing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{KeyInit, Mac};
use trachios_domain::DomainError;

use crate::derived_key::{derive_key, HmacSha256};

/// Bytes of the tag kept in a cursor: 128 bits make forging one hopeless and keep the
/// cursor short enough for a URL.
const TAG_LEN: usize = 16;
const FORMAT_VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 1 + 1 + 8;

/// Which list a cursor belongs to, so that one list's cursor is refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Orders = 1,
    Users = 2,
    Deliveries = 3,
    Products = 4,
    StockMovements = 5,
}

/// The key cursors are signed with. Every process that shares the JWT secret derives the
/// same key, so a cursor issued by one process is accepted by all of them.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    /// Derives the cursor key from a server secret; the secret itself signs nothing else
    /// than what it was made for.
    pub fn derive(secret: &[u8]) -> Self {
        Self(derive_key(secret, b"trachios list cursor key"))
    }

    /// The cursor of a page that starts below `before`.
    pub(crate) fn seal(&self, kind: ListKind, before: i64) -> String {
        let payload = payload(kind, before);
        let mut bytes = payload.to_vec();
        bytes.extend_from_slice(&self.tag(&payload)[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Where a page starts, if the cursor was issued by this service for this list.
    pub(crate) fn open(&self, kind: ListKind, cursor: &str) -> Result<i64, DomainError> {
        let invalid = || DomainError::Validation("cursor is not valid".to_owned());
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if bytes.len() != PAYLOAD_LEN + TAG_LEN {
            return Err(invalid());
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
        let mut mac = self.mac();
        mac.update(payload);
        mac.verify_truncated_left(tag).map_err(|_| invalid())?;
        if payload[0] != FORMAT_VERSION || payload[1] != kind as u8 {
            return Err(invalid());
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&payload[2..]);
        Ok(i64::from_be_bytes(id))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }

    fn tag(&self, payload: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(payload);
        mac.finalize().into_bytes().into()
    }
}

fn payload(kind: ListKind, before: i64) -> [u8; PAYLOAD_LEN] {
    let mut payload = [0u8; PAYLOAD_LEN];
    payload[0] = FORMAT_VERSION;
    payload[1] = kind as u8;
    payload[2..].copy_from_slice(&before.to_be_bytes());
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::derive(b"a secret of at least thirty-two bytes")
    }

    #[test]
    fn a_sealed_cursor_opens_to_its_position() {
        let cursor = key().seal(ListKind::Orders, 4242);
        assert_eq!(key().open(ListKind::Orders, &cursor).ok(), Some(4242));
    }

    #[test]
    fn every_altered_character_is_detected() {
        let cursor = key().seal(ListKind::Orders, 4242);
        for i in 0..cursor.len() {
            let mut altered: Vec<char> = cursor.chars().collect();
            altered[i] = if altered[i] == 'A' { 'B' } else { 'A' };
            let altered: String = altered.into_iter().collect();
            if altered != cursor {
                assert!(key().open(ListKind::Orders, &altered).is_err(), "{altered}");
            }
        }
    }

    #[test]
    fn forged_truncated_and_foreign_cursors_are_refused() {
        let other = CursorKey::derive(b"another secret of thirty-two bytes!!");
        let cursor = other.seal(ListKind::Orders, 1);
        assert!(key().open(ListKind::Orders, &cursor).is_err());
        let mine = key().seal(ListKind::Users, 1);
        assert!(key().open(ListKind::Orders, &mine).is_err());
        assert!(key()
            .open(ListKind::Users, &mine[..mine.len() - 2])
            .is_err());
        for junk in ["", "1", "not base64 !", "MTIz"] {
            assert!(key().open(ListKind::Orders, junk).is_err(), "{junk}");
        }
    }
}
