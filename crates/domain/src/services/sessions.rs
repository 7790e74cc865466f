use std::sync::Arc;

use crate::ports::{AccountStates, Clock, TokenService};
use chrono::{DateTime, Utc};

use crate::{DomainError, Session, TokenId, UserId};

/// Turns a bearer token into a session, checking the account behind it as it is now, and
/// ends sessions.
#[derive(Clone)]
pub struct SessionService {
    tokens: Arc<dyn TokenService>,
    states: Arc<dyn AccountStates>,
    clock: Arc<dyn Clock>,
}

impl SessionService {
    pub fn new(
        tokens: Arc<dyn TokenService>,
        states: Arc<dyn AccountStates>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tokens,
            states,
            clock,
        }
    }

    /// The session a token opens: a valid signature is not enough — the account must still
    /// exist and be enabled, and the token must not have been logged out. The caller gets
    /// the account's current role, not the one the token was issued with.
    pub async fn authenticate(&self, token: &str) -> Result<Session, DomainError> {
        let claims = self.tokens.verify(token)?;
        self.current(
            claims.user_id,
            claims.token_id,
            claims.issued_at,
            claims.expires_at,
        )
        .await
    }

    /// The session as it stands now, for holders of a long-lived grant (an event stream)
    /// that checked the token once: `Unauthenticated` once the token has expired or been
    /// logged out, or its account has been disabled or deleted; otherwise the caller with
    /// the account's current role.
    pub async fn recheck(
        &self,
        session: &Session,
        now: DateTime<Utc>,
    ) -> Result<Session, DomainError> {
        if session.expires_at <= now {
            return Err(DomainError::Unauthenticated);
        }
        self.current(
            session.caller.user_id,
            session.token_id.clone(),
            session.issued_at,
            session.expires_at,
        )
        .await
    }

    async fn current(
        &self,
        user_id: UserId,
        token_id: TokenId,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Session, DomainError> {
        let status = self
            .states
            .status(user_id, &token_id)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        if !status.admits(issued_at) {
            return Err(DomainError::Unauthenticated);
        }
        Ok(Session {
            caller: crate::Caller {
                user_id,
                role: status.role,
            },
            token_id,
            issued_at,
            expires_at,
        })
    }

    /// Ends this session: its token is refused from now on, the account's other tokens
    /// keep working.
    pub async fn logout(&self, session: &Session) -> Result<(), DomainError> {
        self.states
            .revoke(
                session.caller.user_id,
                &session.token_id,
                session.expires_at,
            )
            .await?;
        tracing::info!(user_id = session.caller.user_id.get(), "logged out");
        Ok(())
    }

    /// Ends every token of the caller's account issued until now, this one included, in
    /// every process.
    pub async fn logout_everywhere(&self, session: &Session) -> Result<(), DomainError> {
        self.states
            .end_sessions(session.caller.user_id, self.clock.now(), &session.token_id)
            .await?;
        tracing::info!(
            user_id = session.caller.user_id.get(),
            "logged out everywhere"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockAccountStates, MockTokenService};
    use crate::services::fixtures::{fixed_clock, uid, T0};
    use crate::{AccountStatus, Role, TokenClaims, TokenId};
    use mockall::predicate::*;

    fn tokens_for(role: Role) -> MockTokenService {
        let mut tokens = MockTokenService::new();
        tokens.expect_verify().returning(move |raw| match raw {
            "good" => Ok(TokenClaims {
                user_id: uid(7),
                role,
                token_id: TokenId::new("t1".into()),
                issued_at: T0 - chrono::Duration::minutes(5),
                expires_at: T0,
            }),
            _ => Err(DomainError::Unauthenticated),
        });
        tokens
    }

    fn states_saying(status: Option<AccountStatus>) -> MockAccountStates {
        let mut states = MockAccountStates::new();
        states
            .expect_status()
            .with(eq(uid(7)), eq(TokenId::new("t1".into())))
            .returning(move |_, _| Ok(status));
        states
    }

    fn status(role: Role, disabled: bool, token_revoked: bool) -> Option<AccountStatus> {
        Some(AccountStatus {
            role,
            disabled,
            token_revoked,
            tokens_valid_after: None,
            token_kept: false,
        })
    }

    async fn authenticate(
        claimed: Role,
        now: Option<AccountStatus>,
    ) -> Result<Session, DomainError> {
        SessionService::new(
            Arc::new(tokens_for(claimed)),
            Arc::new(states_saying(now)),
            fixed_clock(),
        )
        .authenticate("good")
        .await
    }

    #[tokio::test]
    async fn a_recheck_follows_the_account_and_the_expiry_without_the_token() {
        let service = |now| {
            SessionService::new(
                Arc::new(MockTokenService::new()),
                Arc::new(states_saying(now)),
                fixed_clock(),
            )
        };
        let session = Session {
            caller: crate::Caller {
                user_id: uid(7),
                role: Role::Admin,
            },
            token_id: TokenId::new("t1".into()),
            issued_at: T0 - chrono::Duration::minutes(5),
            expires_at: T0 + chrono::Duration::hours(1),
        };
        let demoted = service(status(Role::Customer, false, false))
            .recheck(&session, T0)
            .await
            .unwrap();
        assert_eq!(demoted.caller.role, Role::Customer);
        for gone in [
            status(Role::Admin, true, false),
            status(Role::Admin, false, true),
            None,
        ] {
            assert!(matches!(
                service(gone).recheck(&session, T0).await,
                Err(DomainError::Unauthenticated)
            ));
        }
        assert!(matches!(
            service(status(Role::Admin, false, false))
                .recheck(&session, T0 + chrono::Duration::hours(1))
                .await,
            Err(DomainError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn the_current_role_counts_not_the_one_in_the_token() {
        let session = authenticate(Role::Admin, status(Role::Customer, false, false))
            .await
            .unwrap();
        assert_eq!(session.caller.role, Role::Customer);
        assert_eq!(session.token_id, TokenId::new("t1".into()));
    }

    #[tokio::test]
    async fn disabled_deleted_and_logged_out_accounts_are_unauthenticated() {
        for now in [
            status(Role::Admin, true, false),
            status(Role::Admin, false, true),
            None,
        ] {
            let err = authenticate(Role::Admin, now).await.unwrap_err();
            assert!(
                matches!(err, DomainError::Unauthenticated),
                "{now:?}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn tokens_issued_before_the_sessions_ended_are_refused_except_the_kept_one() {
        let ended = |after: chrono::DateTime<Utc>, kept: bool| {
            Some(AccountStatus {
                role: Role::Customer,
                disabled: false,
                token_revoked: false,
                tokens_valid_after: Some(after),
                token_kept: kept,
            })
        };
        // The token was issued five minutes before T0.
        let issued = T0 - chrono::Duration::minutes(5);
        for (status, admitted) in [
            (
                ended(issued - chrono::Duration::milliseconds(1), false),
                true,
            ),
            (ended(issued, false), false),
            (ended(T0, false), false),
            (ended(T0, true), true),
        ] {
            let outcome = authenticate(Role::Customer, status).await;
            assert_eq!(outcome.is_ok(), admitted, "{status:?}: {outcome:?}");
        }
    }

    #[test]
    fn a_kept_token_of_a_disabled_account_is_still_refused() {
        let status = AccountStatus {
            role: Role::Customer,
            disabled: true,
            token_revoked: false,
            tokens_valid_after: Some(T0),
            token_kept: true,
        };
        assert!(!status.admits(T0 - chrono::Duration::minutes(1)));
    }

    #[tokio::test]
    async fn a_bad_token_never_reaches_the_account_state() {
        let svc = SessionService::new(
            Arc::new(tokens_for(Role::Admin)),
            Arc::new(MockAccountStates::new()),
            fixed_clock(),
        );
        let err = svc.authenticate("forged").await.unwrap_err();
        assert!(matches!(err, DomainError::Unauthenticated));
    }

    #[tokio::test]
    async fn logout_revokes_exactly_this_token_until_it_expires() {
        let mut states = MockAccountStates::new();
        states
            .expect_revoke()
            .with(eq(uid(7)), eq(TokenId::new("t1".into())), eq(T0))
            .times(1)
            .returning(|_, _, _| Ok(()));
        let session = Session {
            caller: crate::Caller {
                user_id: uid(7),
                role: Role::Customer,
            },
            token_id: TokenId::new("t1".into()),
            issued_at: T0 - chrono::Duration::minutes(5),
            expires_at: T0,
        };
        SessionService::new(
            Arc::new(MockTokenService::new()),
            Arc::new(states),
            fixed_clock(),
        )
        .logout(&session)
        .await
        .unwrap();
    }
}
