use std::sync::Arc;

use crate::input::refuse_nul;
use crate::ports::{Clock, IssuedToken, PasswordHasher, TokenService, UserRepository};
use crate::{
    Caller, DomainError, Email, Name, NewUser, Password, PasswordPolicy, Role, Session, User,
};

/// Registration, login and the caller's own account.
#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
    policy: PasswordPolicy,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub token: IssuedToken,
    pub user: User,
}

impl AccountService {
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
        clock: Arc<dyn Clock>,
        policy: PasswordPolicy,
    ) -> Self {
        Self {
            users,
            hasher,
            tokens,
            clock,
            policy,
        }
    }

    /// Creates a customer account; the role is never chosen by the caller.
    pub async fn register(
        &self,
        name: Name,
        email: Email,
        password: Password,
    ) -> Result<User, DomainError> {
        self.policy.check(&password)?;
        self.create_account(name, email, password, Role::Customer)
            .await
    }

    /// Creates an account with the given role, as the admin seeding does.
    pub async fn create_account(
        &self,
        name: Name,
        email: Email,
        password: Password,
        role: Role,
    ) -> Result<User, DomainError> {
        let password_hash = self.hasher.hash(&password).await?;
        self.users
            .insert(NewUser {
                name,
                email,
                password_hash,
                role,
            })
            .await
    }

    /// Exchanges an email and password for a token. Unknown emails and wrong passwords
    /// fail alike and take the same time.
    pub async fn login(
        &self,
        email: &str,
        password: &Password,
    ) -> Result<LoginOutcome, DomainError> {
        refuse_nul("email", email)?;
        refuse_nul("password", password.expose())?;
        let credentials = match Email::parse(email) {
            Ok(email) => self.users.find_credentials(&email).await?,
            Err(_) => None,
        };
        let matches = self
            .hasher
            .verify(
                password,
                credentials.as_ref().map(|c| c.password_hash.clone()),
            )
            .await?;
        let user = match credentials {
            // A disabled account fails exactly like a wrong password.
            Some(c) if matches && !c.user.disabled => c.user,
            // Logged by the caller, who knows where the attempt came from.
            _ => return Err(DomainError::InvalidCredentials),
        };
        let token = self.tokens.issue(&user, self.clock.now())?;
        Ok(LoginOutcome { token, user })
    }

    /// The caller changes their password, proving they know the current one: every other
    /// token of the account stops working, in every process; the caller's own keeps working.
    /// A wrong current password is `InvalidCredentials`, as a failed login.
    /// `email` is the caller's own (the caller looked it up to apply the login limits).
    pub async fn change_password(
        &self,
        session: &Session,
        email: &Email,
        current: &Password,
        new: Password,
    ) -> Result<(), DomainError> {
        refuse_nul("current_password", current.expose())?;
        self.policy.check(&new)?;
        let user_id = session.caller.user_id;
        let credentials = self
            .users
            .find_credentials(email)
            .await?
            .filter(|c| c.user.id == user_id);
        let matches = self
            .hasher
            .verify(
                current,
                credentials.as_ref().map(|c| c.password_hash.clone()),
            )
            .await?;
        if !matches || credentials.is_none() {
            return Err(DomainError::InvalidCredentials);
        }
        let hash = self.hasher.hash(&new).await?;
        if !self
            .users
            .change_password(user_id, hash, self.clock.now(), &session.token_id)
            .await?
        {
            return Err(DomainError::InvalidCredentials);
        }
        tracing::info!(
            user_id = user_id.get(),
            "password changed; other sessions ended"
        );
        Ok(())
    }

    /// The caller's own account.
    pub async fn current_user(&self, caller: Caller) -> Result<User, DomainError> {
        self.users
            .find_by_id(caller.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockPasswordHasher, MockTokenService, MockUserRepository};
    use crate::services::fixtures::{customer, fixed_clock, uid, user, T0};
    use crate::{PasswordHash, UserCredentials};
    use mockall::predicate::*;

    fn service(
        users: MockUserRepository,
        hasher: MockPasswordHasher,
        tokens: MockTokenService,
    ) -> AccountService {
        AccountService::new(
            Arc::new(users),
            Arc::new(hasher),
            Arc::new(tokens),
            fixed_clock(),
            PasswordPolicy::default(),
        )
    }

    fn credentials() -> UserCredentials {
        UserCredentials {
            user: user(7, Role::Customer),
            password_hash: PasswordHash::new("phc".into()),
        }
    }

    #[tokio::test]
    async fn register_always_creates_a_customer_with_a_hashed_password() {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("phc".into())));
        let mut users = MockUserRepository::new();
        users
            .expect_insert()
            .withf(|u| {
                u.role == Role::Customer
                    && u.password_hash.as_str() == "phc"
                    && u.email.as_str() == "a@x.io"
            })
            .returning(|_| Ok(user(1, Role::Customer)));
        let svc = service(users, hasher, MockTokenService::new());
        let created = svc
            .register(
                Name::parse("A").unwrap(),
                Email::parse("A@x.io").unwrap(),
                Password::parse("password1").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(created.role, Role::Customer);
    }

    #[tokio::test]
    async fn registration_holds_new_passwords_to_the_configured_minimum() {
        let svc = AccountService::new(
            Arc::new(MockUserRepository::new()),
            Arc::new(MockPasswordHasher::new()),
            Arc::new(MockTokenService::new()),
            fixed_clock(),
            PasswordPolicy::new(12).unwrap(),
        );
        let err = svc
            .register(
                Name::parse("A").unwrap(),
                Email::parse("a@x.io").unwrap(),
                Password::parse("eleven-char").unwrap(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            DomainError::Validation("password must be at least 12 characters".into()).to_string()
        );
    }

    fn session_of(user_id: i64) -> Session {
        Session {
            caller: customer(user_id),
            token_id: crate::TokenId::new("t1".into()),
            issued_at: T0,
            expires_at: T0,
        }
    }

    #[tokio::test]
    async fn a_password_change_needs_the_current_password_and_keeps_only_the_callers_token() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(|_| Ok(Some(credentials())));
        users
            .expect_change_password()
            .withf(|id, hash, at, kept| {
                *id == uid(7) && hash.as_str() == "new-phc" && *at == T0 && kept.as_str() == "t1"
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .returning(|p, _| Ok(p.expose() == "password1"));
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("new-phc".into())));
        let svc = service(users, hasher, MockTokenService::new());
        let email = Email::parse("jo@x.io").unwrap();
        let wrong = svc
            .change_password(
                &session_of(7),
                &email,
                &Password::for_login("password2"),
                Password::parse("a-new-password").unwrap(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(wrong, DomainError::InvalidCredentials),
            "{wrong:?}"
        );
        svc.change_password(
            &session_of(7),
            &email,
            &Password::for_login("password1"),
            Password::parse("a-new-password").unwrap(),
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn register_passes_on_a_taken_email() {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("phc".into())));
        let mut users = MockUserRepository::new();
        users
            .expect_insert()
            .returning(|_| Err(DomainError::EmailTaken));
        let svc = service(users, hasher, MockTokenService::new());
        let err = svc
            .register(
                Name::parse("A").unwrap(),
                Email::parse("a@x.io").unwrap(),
                Password::parse("password1").unwrap(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::EmailTaken), "{err:?}");
    }

    #[tokio::test]
    async fn login_with_the_right_password_issues_a_token() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(|_| Ok(Some(credentials())));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .withf(|_, h| h.is_some())
            .returning(|_, _| Ok(true));
        let mut tokens = MockTokenService::new();
        tokens
            .expect_issue()
            .with(always(), eq(T0))
            .returning(|_, now| {
                Ok(IssuedToken {
                    token: "jwt".into(),
                    expires_at: now,
                })
            });
        let out = service(users, hasher, tokens)
            .login("a@x.io", &Password::for_login("password1"))
            .await
            .unwrap();
        assert_eq!(out.token.token.expose(), "jwt");
        assert_eq!(out.user.id, uid(7));
    }

    #[tokio::test]
    async fn wrong_password_is_rejected() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(|_| Ok(Some(credentials())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().returning(|_, _| Ok(false));
        let err = service(users, hasher, MockTokenService::new())
            .login("a@x.io", &Password::for_login("nope"))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::InvalidCredentials), "{err:?}");
    }

    #[tokio::test]
    async fn a_disabled_account_fails_like_a_wrong_password_even_with_the_right_one() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials().returning(|_| {
            let mut disabled = credentials();
            disabled.user.disabled = true;
            Ok(Some(disabled))
        });
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().times(1).returning(|_, _| Ok(true));
        let err = service(users, hasher, MockTokenService::new())
            .login("a@x.io", &Password::for_login("password1"))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::InvalidCredentials), "{err:?}");
    }

    #[tokio::test]
    async fn unknown_email_still_costs_one_verification_and_fails_alike() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials().returning(|_| Ok(None));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .withf(|_, h| h.is_none())
            .times(1)
            .returning(|_, _| Ok(false));
        let err = service(users, hasher, MockTokenService::new())
            .login("ghost@x.io", &Password::for_login("password1"))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::InvalidCredentials), "{err:?}");
    }

    #[tokio::test]
    async fn malformed_email_at_login_is_just_a_failed_login() {
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().times(1).returning(|_, _| Ok(false));
        let err = service(MockUserRepository::new(), hasher, MockTokenService::new())
            .login("not-an-email", &Password::for_login("password1"))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::InvalidCredentials), "{err:?}");
    }

    #[tokio::test]
    async fn current_user_of_a_deleted_account_is_not_found() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .with(eq(uid(9)))
            .returning(|_| Ok(None));
        let err = service(users, MockPasswordHasher::new(), MockTokenService::new())
            .current_user(customer(9))
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::NotFound("user")), "{err:?}");
    }

    #[tokio::test]
    async fn nul_in_a_login_is_a_refusal_naming_the_field_not_a_failed_login() {
        let svc = service(
            MockUserRepository::new(),
            MockPasswordHasher::new(),
            MockTokenService::new(),
        );
        let err = svc
            .login("a\0@x.io", &Password::for_login("password1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DomainError::Validation(m) if m.starts_with("email")),
            "{err:?}"
        );
        let err = svc
            .login("a@x.io", &Password::for_login("pass\0word1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, DomainError::Validation(m) if m.starts_with("password")),
            "{err:?}"
        );
    }
}
