use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use trachios_domain::ports::{IssuedToken, TokenService};
use trachios_domain::{DomainError, TokenClaims, User};

/// Tokens this process verified recently, with what they proved. A bearer token is checked
/// on every request, and checking it — the signature, then three JSON documents parsed and
/// validated — took a tenth of a cached order read's time in a profile; the same token
/// comes back request after request. Only tokens that passed verification are kept, keyed
/// by their exact text, so a forged or altered token never matches an entry and garbage
/// cannot fill the cache; an entry is refused once its token has expired, exactly as the
/// verifier would refuse it. Whether the session still stands (logout, a disabled account)
/// is not a property of the token and is checked on every request elsewhere.
pub struct CachedTokenVerifier {
    inner: Arc<dyn TokenService>,
    verified: Cache<String, TokenClaims>,
}

impl CachedTokenVerifier {
    /// `capacity` bounds memory whatever the number of distinct tokens presented.
    pub fn new(inner: Arc<dyn TokenService>, ttl: Duration, capacity: u64) -> Self {
        Self {
            inner,
            verified: Cache::builder()
                .time_to_live(ttl)
                .max_capacity(capacity)
                .build(),
        }
    }
}

/// Expired as the verifier sees it: `exp` is whole seconds and a token is good through its
/// `exp` second.
fn expired(claims: &TokenClaims, now: DateTime<Utc>) -> bool {
    claims.expires_at.timestamp() < now.timestamp()
}

impl TokenService for CachedTokenVerifier {
    fn issue(&self, user: &User, now: DateTime<Utc>) -> Result<IssuedToken, DomainError> {
        self.inner.issue(user, now)
    }

    fn verify(&self, token: &str) -> Result<TokenClaims, DomainError> {
        if let Some(claims) = self.verified.get(token) {
            if expired(&claims, Utc::now()) {
                self.verified.invalidate(token);
                return Err(DomainError::Unauthenticated);
            }
            return Ok(claims);
        }
        let claims = self.inner.verify(token)?;
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trachios_domain::ports::MockTokenService;
    use trachios_domain::{Role, TokenId, UserId};

    fn claims(expires_at: DateTime<Utc>) -> TokenClaims {
        TokenClaims {
            user_id: UserId::parse(7).unwrap(),
            role: Role::Customer,
            token_id: TokenId::new("t1".into()),
            issued_at: expires_at - chrono::Duration::hours(72),
            expires_at,
        }
    }

    fn cached(inner: MockTokenService) -> CachedTokenVerifier {
        CachedTokenVerifier::new(Arc::new(inner), Duration::from_secs(60), 100)
    }

    #[test]
    fn a_good_token_is_verified_once_and_then_answered_from_memory() {
        let good = claims(Utc::now() + chrono::Duration::hours(1));
        let mut inner = MockTokenService::new();
        let answer = good.clone();
        inner
            .expect_verify()
            .withf(|t| t == "good")
            .times(1)
            .returning(move |_| Ok(answer.clone()));
        let tokens = cached(inner);
        for _ in 0..3 {
            assert_eq!(tokens.verify("good").unwrap(), good);
        }
    }

    #[test]
    fn a_refused_token_is_asked_about_every_time_and_never_kept() {
        let mut inner = MockTokenService::new();
        inner
            .expect_verify()
            .times(3)
            .returning(|_| Err(DomainError::Unauthenticated));
        let tokens = cached(inner);
        for _ in 0..3 {
            assert!(matches!(
                tokens.verify("forged"),
                Err(DomainError::Unauthenticated)
            ));
        }
        tokens.verified.run_pending_tasks();
        assert_eq!(tokens.verified.entry_count(), 0);
    }

    #[test]
    fn a_kept_token_is_refused_once_it_has_expired() {
        let mut inner = MockTokenService::new();
        // Verified while still good (the verifier's own check passed a moment ago).
        let soon = claims(Utc::now() - chrono::Duration::seconds(2));
        inner
            .expect_verify()
            .times(1)
            .returning(move |_| Ok(soon.clone()));
        let tokens = cached(inner);
        assert!(
            tokens.verify("old").is_ok(),
            "the first answer is the verifier's"
        );
        assert!(matches!(
            tokens.verify("old"),
            Err(DomainError::Unauthenticated)
        ));
    }

    #[test]
    fn a_token_is_good_through_its_expiry_second() {
        let now = Utc::now();
        assert!(!expired(&claims(now), now));
        assert!(expired(&claims(now - chrono::Duration::seconds(1)), now));
    }
}
