use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use async_trait::async_trait;

use trachios_domain::ports::PasswordHasher;

use crate::gate::{HashGate, HashLimits};
use trachios_domain::{DomainError, Password, PasswordHash};

/// argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1), run on tokio's
/// blocking pool so that a login never stalls the request executor.
pub struct Argon2Hasher {
    params: Params,
    /// Verified against when the account does not exist, so that it costs the same.
    dummy_hash: String,
    gate: HashGate,
}

/// Why the hasher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HasherSetupError {
    #[error("invalid argon2 parameters")]
    Params(#[source] argon2::Error),
    #[error("hashing the timing equaliser failed")]
    Dummy(#[source] argon2::password_hash::Error),
}

impl Argon2Hasher {
    pub fn new(limits: HashLimits) -> Result<Self, HasherSetupError> {
        let params = Params::new(19 * 1024, 2, 1, None).map_err(HasherSetupError::Params)?;
        let dummy_hash = argon2(&params)
            .hash_password(b"timing-equaliser")
            .map_err(HasherSetupError::Dummy)?
            .to_string();
        Ok(Self {
            params,
            dummy_hash,
            gate: HashGate::new(limits),
        })
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DomainError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(DomainError::internal)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, DomainError> {
        let _turn = self.gate.admit().await?;
        let params = self.params.clone();
        let password = password.clone();
        blocking(move || {
            argon2(&params)
                .hash_password(password.expose().as_bytes())
                .map(|h| PasswordHash::new(h.to_string()))
                .map_err(DomainError::internal)
        })
        .await?
    }

    async fn verify(
        &self,
        password: &Password,
        hash: Option<PasswordHash>,
    ) -> Result<bool, DomainError> {
        let _turn = self.gate.admit().await?;
        let known = hash.is_some();
        let phc = hash
            .map(|h| h.as_str().to_owned())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let params = self.params.clone();
        let password = password.clone();
        let matches = blocking(move || {
            let Ok(parsed) = Phc::new(&phc) else {
                return false;
            };
            argon2(&params)
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Hasher::new(HashLimits::default()).unwrap();
        let pw = Password::parse("correct horse").unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(&pw, Some(hash.clone())).await.unwrap());
        assert!(!hasher
            .verify(&Password::for_login("wrong horse"), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn hashes_are_salted() {
        let hasher = Argon2Hasher::new(HashLimits::default()).unwrap();
        let pw = Password::parse("correct horse").unwrap();
        assert_ne!(
            hasher.hash(&pw).await.unwrap(),
            hasher.hash(&pw).await.unwrap()
        );
    }

    #[tokio::test]
    async fn no_account_never_verifies() {
        let hasher = Argon2Hasher::new(HashLimits::default()).unwrap();
        assert!(!hasher
            .verify(&Password::for_login("timing-equaliser"), None)
            .await
            .unwrap());
    }
}
