use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moka::future::Cache;
use trachios_domain::ports::AccountStates;
use trachios_domain::{AccountStatus, DomainError, TokenId, UserId};

/// Account state per token, kept for a short time in this process: every request checks
/// its token's account, and the cached-read path must not pay a database round trip for
/// it. A change made anywhere (role, disabled, logout on another process) is seen here
/// within `ttl`; a logout through this process is seen at once.
pub struct CachedAccountStates {
    inner: Arc<dyn AccountStates>,
    cache: Cache<TokenId, (UserId, Option<AccountStatus>)>,
}

impl CachedAccountStates {
    /// `capacity` bounds memory whatever the number of distinct tokens in use.
    pub fn new(inner: Arc<dyn AccountStates>, ttl: Duration, capacity: u64) -> Self {
        Self {
            inner,
            cache: Cache::builder()
                .time_to_live(ttl)
                .max_capacity(capacity)
                .build(),
        }
    }
}

/// A failure shared by every request that waited for the same lookup, as the domain's
/// error of the same kind.
fn shared_failure(err: Arc<DomainError>) -> DomainError {
    match *err {
        DomainError::Unavailable(_) => DomainError::unavailable(err),
        _ => DomainError::internal(err),
    }
}

#[async_trait]
impl AccountStates for CachedAccountStates {
    async fn status(
        &self,
        user_id: UserId,
        token_id: &TokenId,
    ) -> Result<Option<AccountStatus>, DomainError> {
        // Concurrent misses for one token make one lookup; the others wait for it.
        let (cached_for, status) = self
            .cache
            .try_get_with_by_ref(token_id, async {
                let status = self.inner.status(user_id, token_id).await?;
                Ok::<_, DomainError>((user_id, status))
            })
            .await
            .map_err(shared_failure)?;
        if cached_for == user_id {
            Ok(status)
        } else {
            // Token ids are unique per token; a collision is not ours to trust.
            self.cache.invalidate(token_id).await;
            self.inner.status(user_id, token_id).await
        }
    }

    async fn revoke(
        &self,
        user_id: UserId,
        token_id: &TokenId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.inner.revoke(user_id, token_id, expires_at).await?;
        self.cache.invalidate(token_id).await;
        Ok(())
    }

    async fn end_sessions(
        &self,
        user_id: UserId,
        at: DateTime<Utc>,
        current: &TokenId,
    ) -> Result<(), DomainError> {
        self.inner.end_sessions(user_id, at, current).await?;
        self.cache.invalidate(current).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mockall::predicate::*;
    use trachios_domain::ports::MockAccountStates;
    use trachios_domain::Role;

    fn uid(id: i64) -> UserId {
        UserId::parse(id).expect("positive")
    }

    fn token(id: &str) -> TokenId {
        TokenId::new(id.to_owned())
    }

    const ACTIVE: AccountStatus = AccountStatus {
        role: Role::Customer,
        disabled: false,
        token_revoked: false,
        tokens_valid_after: None,
        token_kept: false,
    };

    #[tokio::test]
    async fn a_token_is_looked_up_once_per_ttl_and_again_after_it() {
        let mut inner = MockAccountStates::new();
        inner
            .expect_status()
            .with(eq(uid(7)), eq(token("t1")))
            .times(2)
            .returning(|_, _| Ok(Some(ACTIVE)));
        let cached = CachedAccountStates::new(Arc::new(inner), Duration::from_millis(200), 100);
        for _ in 0..50 {
            assert_eq!(
                cached.status(uid(7), &token("t1")).await.unwrap(),
                Some(ACTIVE)
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            cached.status(uid(7), &token("t1")).await.unwrap(),
            Some(ACTIVE)
        );
    }

    #[tokio::test]
    async fn a_logout_here_is_seen_here_at_once() {
        let mut inner = MockAccountStates::new();
        let mut seq = mockall::Sequence::new();
        inner
            .expect_status()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(ACTIVE)));
        inner
            .expect_revoke()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(()));
        inner
            .expect_status()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| {
                Ok(Some(AccountStatus {
                    token_revoked: true,
                    ..ACTIVE
                }))
            });
        let cached = CachedAccountStates::new(Arc::new(inner), Duration::from_secs(60), 100);
        assert!(
            !cached
                .status(uid(7), &token("t1"))
                .await
                .unwrap()
                .unwrap()
                .token_revoked
        );
        cached
            .revoke(uid(7), &token("t1"), chrono::Utc::now())
            .await
            .unwrap();
        assert!(
            cached
                .status(uid(7), &token("t1"))
                .await
                .unwrap()
                .unwrap()
                .token_revoked
        );
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_keep_their_kind() {
        let mut inner = MockAccountStates::new();
        let mut seq = mockall::Sequence::new();
        inner
            .expect_status()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Err(DomainError::unavailable("database down")));
        inner
            .expect_status()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(ACTIVE)));
        let cached = CachedAccountStates::new(Arc::new(inner), Duration::from_secs(60), 100);
        let err = cached.status(uid(7), &token("t1")).await.unwrap_err();
        assert!(matches!(err, DomainError::Unavailable(_)), "{err:?}");
        assert_eq!(
            cached.status(uid(7), &token("t1")).await.unwrap(),
            Some(ACTIVE)
        );
    }
}
