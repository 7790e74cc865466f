use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{DomainError, Email, Name, UserId};

/// What a user may do. Its names and list come from this declaration.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub const ALL: &'static [Role] = <Role as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        crate::names::parse(raw, Self::ALL, Self::as_str, "role")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: Name,
    pub email: Email,
    pub role: Role,
    /// A disabled account cannot log in, and its tokens stop working.
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an admin changes about an account; `None` leaves that part as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

impl UserChange {
    /// Disabling an account ends its tokens for good: enabling it again does not revive
    /// them.
    pub fn ends_sessions(&self) -> bool {
        self.disabled == Some(true)
    }
}

/// A PHC-format password hash; Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A user together with the hash that login checks against.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

/// An account about to be stored.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: Name,
    pub email: Email,
    pub password_hash: PasswordHash,
    pub role: Role,
}

/// Which token a request presented (the JWT's `jti`), so that it alone can be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId(String);

impl TokenId {
    pub fn new(jti: String) -> Self {
        Self(jti)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a valid token says: whose it is, what role it was issued for, which token it is
/// and until when it is good. The role is a claim from the past; the account's current
/// state decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub user_id: UserId,
    pub role: Role,
    pub token_id: TokenId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An account as it stands now, seen through one of its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountStatus {
    pub role: Role,
    pub disabled: bool,
    /// This token was logged out.
    pub token_revoked: bool,
    /// Tokens of the account issued before this were ended (log out everywhere, a
    /// password change, disabling)…
    pub tokens_valid_after: Option<DateTime<Utc>>,
    /// …except this one, when it is the token that changed the password.
    pub token_kept: bool,
}

impl AccountStatus {
    /// Whether a token issued at `issued_at` opens a session on the account now.
    pub fn admits(&self, issued_at: DateTime<Utc>) -> bool {
        let ended = self
            .tokens_valid_after
            .is_some_and(|after| issued_at <= after && !self.token_kept);
        !self.disabled && !self.token_revoked && !ended
    }
}

/// A request's authenticated session: the caller with their current role, and the token
/// it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub caller: Caller,
    pub token_id: TokenId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The authenticated identity behind a request, as proven by its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(self) -> bool {
        self.role == Role::Admin
    }

    /// The owner and admins see an order; anyone else learns nothing, not even that it
    /// exists.
    pub fn ensure_sees_orders_of(self, customer: UserId) -> Result<(), DomainError> {
        if self.is_admin() || self.user_id == customer {
            Ok(())
        } else {
            Err(DomainError::NotFound("order"))
        }
    }

    /// Admin-only operations ask this first, before looking at anything else.
    pub fn ensure_admin(self) -> Result<(), DomainError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(DomainError::Forbidden)
        }
    }
}
