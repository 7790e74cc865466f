//! Secrets the store keeps (webhook signing keys), sealed with XChaCha20-Poly1305 under a
//! key derived from a server secret. A sealed value names its key, so that after a rotation
//! the keys rotated out still open what they sealed until it is sealed again.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use trachios_domain::ports::SecretSealer;
use trachios_domain::{DomainError, SealedSecret, SecretText};

/// `sealed:v1:KEYID:BASE64URL(nonce ‖ ciphertext ‖ tag)`.
const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;
/// Bound into every seal: a value sealed for another purpose with the same key does not open.
const PURPOSE: &[u8] = b"trachios webhook signing key";

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

struct SealingKey {
    /// Eight hex digits that name the key in what it sealed; not secret.
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    fn derive(secret: &[u8]) -> Self {
        let key = hmac(secret, b"trachios sealed secrets v1");
        let id = hmac(&key, b"key id")[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }
}

/// The [`SecretSealer`]: seals under the current key, opens under it or any key rotated out.
pub struct SecretBox {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl SecretBox {
    /// `current` seals; `previous` (keys rotated out) only open. Each is a server secret as
    /// configured: the 256-bit key is derived from it.
    pub fn new(current: &[u8], previous: &[&[u8]]) -> Self {
        Self {
            current: SealingKey::derive(current),
            previous: previous.iter().map(|s| SealingKey::derive(s)).collect(),
        }
    }

    /// The name sealed values carry for the current key, for the operator's logs.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    fn key(&self, id: &str) -> Option<&SealingKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }
}

#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("sealed under key {0}, which this process does not hold")]
    UnknownKey(String),
    #[error("the sealed value is damaged or was altered")]
    Damaged,
}

impl SecretSealer for SecretBox {
    fn seal(&self, secret: &SecretText) -> SealedSecret {
        let nonce = XNonce::generate();
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: PURPOSE,
        };
        let sealed = self
            .current
            .cipher
            .encrypt(&nonce, payload)
            .expect("XChaCha20-Poly1305 seals any message below 256 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        SealedSecret::new(format!(
            "{PREFIX}{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    fn open(&self, sealed: &SealedSecret) -> Result<SecretText, DomainError> {
        let Some(rest) = sealed.as_stored().strip_prefix(PREFIX) else {
            // Stored before keys were sealed: the text itself, until it is sealed again.
            return Ok(SecretText::new(sealed.as_stored()));
        };
        let damaged = || DomainError::internal(OpenError::Damaged);
        let (id, data) = rest.split_once(':').ok_or_else(damaged)?;
        let key = self
            .key(id)
            .ok_or_else(|| DomainError::unavailable(OpenError::UnknownKey(id.to_owned())))?;
        let bytes = URL_SAFE_NO_PAD.decode(data).map_err(|_| damaged())?;
        if bytes.len() < NONCE_LEN {
            return Err(damaged());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| damaged())?;
        let opened = key
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: PURPOSE,
                },
            )
            .map_err(|_| damaged())?;
        String::from_utf8(opened)
            .map(SecretText::new)
            .map_err(|_| damaged())
    }

    fn is_stale(&self, sealed: &SealedSecret) -> bool {
        !sealed
            .as_stored()
            .strip_prefix(PREFIX)
            .is_some_and(|rest| rest.starts_with(&format!("{}:", self.current.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a-server-secret-of-at-least-32-characters";
    const OLD: &[u8] = b"the-key-before-this-one-was-rotated-in!!";

    fn secret() -> SecretText {
        SecretText::new("whsec_0123456789abcdef")
    }

    #[test]
    fn a_sealed_key_does_not_show_and_opens_to_itself() {
        let sealer = SecretBox::new(KEY, &[]);
        let sealed = sealer.seal(&secret());
        assert!(
            !sealed.as_stored().contains("whsec_"),
            "{}",
            sealed.as_stored()
        );
        assert!(sealed
            .as_stored()
            .starts_with(&format!("sealed:v1:{}:", sealer.current_key_id())));
        assert_eq!(sealer.open(&sealed).expect("opens"), secret());
        // A fresh nonce each time: equal keys are not seen to be equal in the store.
        assert_ne!(sealer.seal(&secret()), sealed);
        assert!(!sealer.is_stale(&sealed));
    }

    #[test]
    fn a_key_rotated_out_still_opens_what_it_sealed_which_is_then_stale() {
        let before = SecretBox::new(OLD, &[]).seal(&secret());
        let rotated = SecretBox::new(KEY, &[OLD]);
        assert_eq!(rotated.open(&before).expect("opens"), secret());
        assert!(rotated.is_stale(&before));
        let without_old = SecretBox::new(KEY, &[]);
        let refused = without_old.open(&before).unwrap_err();
        assert!(
            matches!(refused, DomainError::Unavailable(_)),
            "{refused:?}"
        );
        let why = trachios_domain::error_chain(&refused);
        assert!(why.contains("does not hold"), "{why}");
    }

    #[test]
    fn an_altered_value_is_refused_not_opened_to_something_else() {
        let sealer = SecretBox::new(KEY, &[]);
        let sealed = sealer.seal(&secret()).as_stored().to_owned();
        let last = sealed.chars().last().expect("not empty");
        let flipped = if last == 'A' { 'B' } else { 'A' };
        let altered = format!("{}{flipped}", &sealed[..sealed.len() - 1]);
        for damaged in [
            altered,
            format!("{sealed}AAAA"),
            "sealed:v1:nokey".to_owned(),
        ] {
            let outcome = sealer.open(&SealedSecret::new(damaged.clone()));
            assert!(
                matches!(
                    outcome,
                    Err(DomainError::Internal(_)) | Err(DomainError::Unavailable(_))
                ),
                "{damaged}: {outcome:?}"
            );
        }
    }

    #[test]
    fn a_row_from_before_sealing_opens_as_it_is_and_is_stale() {
        let sealer = SecretBox::new(KEY, &[]);
        let legacy = SealedSecret::new("whsec_legacy");
        assert_eq!(
            sealer.open(&legacy).expect("opens").expose(),
            "whsec_legacy"
        );
        assert!(sealer.is_stale(&legacy));
    }
}
