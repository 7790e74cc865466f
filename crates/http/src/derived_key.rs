//! Keys the HTTP adapter derives from one server secret, one per purpose, so that the
//! secret itself signs nothing but what it was made for, and every process of a deployment
//! derives the same keys.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `purpose` under `secret`.
pub(crate) fn derive_key(secret: &[u8], purpose: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}
