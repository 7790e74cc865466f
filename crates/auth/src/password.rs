use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::password_hash::{try_generate_salt, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;

use trachios_domain::ports::PasswordHasher;
use trachios_domain::{DomainError, Password, PasswordHash};

use crate::gate::{HashGate, HashLimits};

/// Bytes of hash output, argon2's default and what every stored hash has.
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

/// argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1), run on tokio's
/// blocking pool so that a login never stalls the request executor, admitted through a
/// gate that bounds how many run and wait, and computed in reused working memory.
pub struct Argon2Hasher {
    params: Params,
    /// Verified against when the account does not exist, so that it costs the same.
    dummy_hash: String,
    gate: HashGate,
    memory: Arc<WorkingMemory>,
}

/// Why the hasher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HasherSetupError {
    #[error("invalid argon2 parameters")]
    Params(#[source] argon2::Error),
    #[error("hashing the timing equaliser failed")]
    Dummy(#[source] DomainError),
}

/// Argon2's 19 MiB of working memory, kept and reused: one buffer per hash running at once
/// (at most `HASH_CONCURRENCY`). Allocating it afresh for every hash costs time (the pages
/// are faulted in each time) and, worse, glibc keeps freed buffers in per-thread arenas, so
/// resident memory grew with every blocking thread that ever hashed — 720 MiB after one
/// burst of logins, measured, against 2 × 19 MiB of hashes actually running.
struct WorkingMemory {
    blocks: usize,
    free: Mutex<Vec<Vec<Block>>>,
}

impl WorkingMemory {
    fn take(&self) -> Vec<Block> {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        reused.unwrap_or_else(|| vec![Block::default(); self.blocks])
    }

    fn give_back(&self, blocks: Vec<Block>) {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(blocks);
    }

    /// Runs argon2 in a buffer of this pool: the output for this password, salt and
    /// instance.
    fn hash_into(
        &self,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let mut blocks = self.take();
        let result = argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..]);
        self.give_back(blocks);
        result
    }
}

impl Argon2Hasher {
    pub fn new(limits: HashLimits) -> Result<Self, HasherSetupError> {
        let params = service_params().map_err(HasherSetupError::Params)?;
        let memory = Arc::new(WorkingMemory {
            blocks: params.block_count(),
            free: Mutex::new(Vec::new()),
        });
        let dummy_hash =
            hash_with(&params, &memory, b"timing-equaliser").map_err(HasherSetupError::Dummy)?;
        // The equaliser's buffer is not kept: an idle service holds no hashing memory.
        memory
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        Ok(Self {
            params,
            dummy_hash,
            gate: HashGate::new(limits),
            memory,
        })
    }
}

/// OWASP's argon2id parameters: m = 19 MiB, t = 2, p = 1.
fn service_params() -> Result<Params, argon2::Error> {
    Params::new(19 * 1024, 2, 1, None)
}

/// argon2id as every new hash is made, for measuring it beside the service.
pub fn argon2id() -> Result<Argon2<'static>, argon2::Error> {
    service_params().map(|params| argon2(&params))
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// A new PHC string for the password, with a fresh random salt.
fn hash_with(
    params: &Params,
    memory: &WorkingMemory,
    password: &[u8],
) -> Result<String, DomainError> {
    let salt = try_generate_salt().map_err(DomainError::internal)?;
    let mut out = [0u8; OUTPUT_LEN];
    memory
        .hash_into(&argon2(params), password, &salt, &mut out)
        .map_err(DomainError::internal)?;
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(DomainError::internal)?,
        salt: Some(Salt::new(&salt).map_err(DomainError::internal)?),
        hash: Some(Output::new(&out).map_err(DomainError::internal)?),
    };
    Ok(phc.to_string())
}

/// Whether the password matches the stored hash. Hashes made with the parameters in use
/// are recomputed in reused memory; others (older parameters) by argon2 itself.
fn verify_with(memory: &WorkingMemory, password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = Phc::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let same_shape = parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into())
        && params.block_count() == memory.blocks
        && expected.len() <= OUTPUT_LEN;
    if !same_shape {
        return argon2(&params).verify_password(password, &parsed).is_ok();
    }
    let mut out = [0u8; OUTPUT_LEN];
    let out = &mut out[..expected.len()];
    if memory
        .hash_into(&argon2(&params), password, salt, out)
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| &computed == expected)
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
        let (params, memory) = (self.params.clone(), self.memory.clone());
        let password = password.clone();
        let phc =
            blocking(move || hash_with(&params, &memory, password.expose().as_bytes())).await??;
        Ok(PasswordHash::new(phc))
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
        let memory = self.memory.clone();
        let password = password.clone();
        let matches =
            blocking(move || verify_with(&memory, password.expose().as_bytes(), &phc)).await?;
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
    async fn hashes_of_other_parameters_still_verify() {
        let hasher = Argon2Hasher::new(HashLimits::default()).unwrap();
        let pw = Password::parse("correct horse").unwrap();
        // A hash as argon2 itself writes it, with lighter parameters than ours.
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let phc = argon2::PasswordHasher::hash_password(&light, b"correct horse")
            .unwrap()
            .to_string();
        let stored = PasswordHash::new(phc);
        assert!(hasher.verify(&pw, Some(stored.clone())).await.unwrap());
        assert!(!hasher
            .verify(&Password::for_login("wrong horse"), Some(stored))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn our_hashes_are_standard_phc_strings_that_argon2_itself_verifies() {
        let hasher = Argon2Hasher::new(HashLimits::default()).unwrap();
        let hash = hasher
            .hash(&Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        let parsed = Phc::new(hash.as_str()).unwrap();
        let reference = Argon2::default();
        assert!(reference.verify_password(b"correct horse", &parsed).is_ok());
        assert!(reference.verify_password(b"wrong horse", &parsed).is_err());
    }

    #[tokio::test]
    async fn working_memory_is_reused_not_grown() {
        let hasher = Argon2Hasher::new(HashLimits::default()).unwrap();
        let pw = Password::parse("correct horse").unwrap();
        for _ in 0..4 {
            hasher.hash(&pw).await.unwrap();
        }
        let kept = hasher.memory.free.lock().unwrap().len();
        assert_eq!(kept, 1, "one hash at a time needs one buffer");
    }

    #[tokio::test]
    async fn garbage_hashes_never_verify() {
        let hasher = Argon2Hasher::new(HashLimits::default()).unwrap();
        for junk in [
            "",
            "$argon2id$",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
        ] {
            let verified = hasher
                .verify(
                    &Password::for_login("x"),
                    Some(PasswordHash::new(junk.into())),
                )
                .await
                .unwrap();
            assert!(!verified, "{junk}");
        }
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
