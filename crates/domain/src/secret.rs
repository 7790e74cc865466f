//! Text that must never reach a log: an access token, a webhook's signing key.

use std::fmt;

/// A secret held as text. `Debug` shows only that there is one; the text is read through
/// `expose`, where it is needed (signing, storing, the one answer that shows it).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretText {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for SecretText {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

/// A secret as the store keeps it: sealed by a [`crate::ports::SecretSealer`], or, in a row
/// written before secrets were sealed, the text itself until it is sealed again.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(String);

impl SealedSecret {
    pub fn new(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    pub fn as_stored(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSecret(<redacted>)")
    }
}

/// Serialises as the text itself: only the answer that hands a secret over (a login's token,
/// a new webhook's key) is built with one.
impl serde::Serialize for SecretText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Every domain type that holds a secret, a token or a password, formatted with `{:?}`:
/// none of them may show it.
#[cfg(test)]
mod tests {
    use crate::ports::IssuedToken;
    use crate::services::fixtures::{order, user, T0};
    use crate::services::{CreatedWebhook, LoginOutcome};
    use crate::{
        ActorKind, Email, Name, NewUser, NewWebhook, OrderStatus, Password, PasswordHash, Role,
        SealedSecret, SecretText, StoredDelivery, Subscription, UserCredentials, Webhook,
        WebhookId, WebhookUrl,
    };

    const SECRET: &str = "s3cr3t-value-that-must-not-show";

    fn shows_nothing(what: &str, formatted: String) {
        assert!(
            !formatted.contains(SECRET),
            "{what} shows the secret: {formatted}"
        );
    }

    #[test]
    fn no_type_holding_a_secret_shows_it_when_formatted() {
        let url = WebhookUrl::parse("https://example.com/hook").unwrap();
        let stored = StoredDelivery {
            delivery_id: 1,
            webhook_id: 1,
            url: url.as_str().to_owned(),
            secret: SealedSecret::new(SECRET),
            attempt: 1,
            event_id: "e1".into(),
            kind: "created".into(),
            from: None,
            actor: ActorKind::Customer,
            actor_id: Some(7),
            order: order(1, 7, OrderStatus::Created, 1),
        };
        let token = IssuedToken {
            token: SECRET.into(),
            expires_at: T0,
        };
        shows_nothing("SecretText", format!("{:?}", SecretText::new(SECRET)));
        shows_nothing("SealedSecret", format!("{:?}", SealedSecret::new(SECRET)));
        shows_nothing(
            "Password",
            format!("{:?}", Password::parse(SECRET).unwrap()),
        );
        shows_nothing(
            "PasswordHash",
            format!("{:?}", PasswordHash::new(SECRET.into())),
        );
        shows_nothing("IssuedToken", format!("{token:?}"));
        shows_nothing(
            "LoginOutcome",
            format!(
                "{:?}",
                LoginOutcome {
                    token,
                    user: user(7, Role::Customer)
                }
            ),
        );
        shows_nothing(
            "UserCredentials",
            format!(
                "{:?}",
                UserCredentials {
                    user: user(7, Role::Customer),
                    password_hash: PasswordHash::new(SECRET.into()),
                }
            ),
        );
        shows_nothing(
            "NewUser",
            format!(
                "{:?}",
                NewUser {
                    name: Name::parse("Jo").unwrap(),
                    email: Email::parse("jo@x.io").unwrap(),
                    password_hash: PasswordHash::new(SECRET.into()),
                    role: Role::Customer,
                }
            ),
        );
        shows_nothing(
            "NewWebhook",
            format!(
                "{:?}",
                NewWebhook {
                    url: url.clone(),
                    subscription: Subscription::DEFAULT,
                    secret: SealedSecret::new(SECRET),
                    created_at: T0,
                }
            ),
        );
        shows_nothing(
            "CreatedWebhook",
            format!(
                "{:?}",
                CreatedWebhook {
                    webhook: Webhook {
                        id: WebhookId::parse(1).unwrap(),
                        url,
                        subscription: Subscription::DEFAULT,
                        created_at: T0,
                    },
                    secret: SECRET.into(),
                }
            ),
        );
        shows_nothing("StoredDelivery", format!("{stored:?}"));
        shows_nothing(
            "PendingDelivery",
            format!("{:?}", stored.into_pending().unwrap()),
        );
    }
}
