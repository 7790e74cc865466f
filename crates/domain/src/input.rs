//! Validated input types: a value of one of these types is valid by construction.

use crate::DomainError;
use std::fmt;

pub(crate) fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::Validation(message.into())
}

/// NUL is no text: PostgreSQL cannot store it, C libraries end strings at it, and no
/// keyboard types it. Even where a value is never stored (a login), it is refused by name.
pub(crate) fn refuse_nul(field: &str, raw: &str) -> Result<(), DomainError> {
    if raw.contains('\0') {
        Err(invalid(format!("{field} must not contain NUL characters")))
    } else {
        Ok(())
    }
}

/// Free text that is stored and shown to people: trimmed, 1–`max` characters, and no
/// control characters but tab and line breaks. PostgreSQL cannot store NUL at all, and the
/// other controls only ever hide or garble what an admin reads.
pub(crate) fn checked_text(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    // Anywhere in what was sent, as the API's schemas say: a vertical tab or NEL is not
    // white space to trim away but a character the field cannot hold.
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    let trimmed = raw.trim();
    match trimmed.chars().count() {
        0 => Err(invalid(format!("{field} must not be empty"))),
        n if n <= max => Ok(trimmed.to_owned()),
        _ => Err(invalid(format!("{field} must be at most {max} characters"))),
    }
}

/// A user's display name: 1–255 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        checked_text("name", raw, 255).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, trimmed and lower-cased so that `A@x.io` and `a@x.io` are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(invalid("email must not be empty"));
        }
        if email.chars().count() > 255 {
            return Err(invalid("email must be at most 255 characters"));
        }
        if !is_plausible_address(&email) {
            return Err(invalid("email must be a valid email address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Accepts `local@domain.tld` shapes without spaces or control characters; the mailbox
/// itself is never contacted, so stricter RFC 5322 parsing would only reject real users.
fn is_plausible_address(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let clean = |s: &str| {
        !s.is_empty()
            && !s.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(
                        c,
                        '@' | '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\'
                    )
            })
    };
    clean(local)
        && clean(domain)
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

/// A new password: 8–128 characters. Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        refuse_nul("password", raw)?;
        match raw.chars().count() {
            0..=7 => Err(invalid("password must be at least 8 characters")),
            8..=128 => Ok(Self(raw.to_owned())),
            _ => Err(invalid("password must be at most 128 characters")),
        }
    }

    /// A password as typed at login, not held to the registration rules: whatever it is,
    /// it can only fail to match.
    pub fn for_login(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// How long a new password must be (`PASSWORD_MIN_LENGTH`): at least 8, as the Go service
/// had it, so that its clients keep working; 12 is what ASVS recommends. Passwords given
/// at login are never held to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: usize,
}

impl PasswordPolicy {
    pub const LOWEST_MIN_LENGTH: usize = 8;
    pub const HIGHEST_MIN_LENGTH: usize = 64;

    pub fn new(min_length: usize) -> Result<Self, DomainError> {
        if (Self::LOWEST_MIN_LENGTH..=Self::HIGHEST_MIN_LENGTH).contains(&min_length) {
            Ok(Self { min_length })
        } else {
            Err(invalid(format!(
                "the minimum password length must be {}–{}",
                Self::LOWEST_MIN_LENGTH,
                Self::HIGHEST_MIN_LENGTH
            )))
        }
    }

    /// Whether a password may be chosen now (registration, a change, a reset).
    pub fn check(&self, password: &Password) -> Result<(), DomainError> {
        if password.0.chars().count() < self.min_length {
            return Err(invalid(format!(
                "password must be at least {} characters",
                self.min_length
            )));
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: Self::LOWEST_MIN_LENGTH,
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What an order is for: 1–1000 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDescription(String);

impl ItemDescription {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        checked_text("item_description", raw, 1000).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Text types are written as plain strings and checked again when read back (a kept
/// idempotent answer), so a stored value that breaks a rule is refused, not trusted.
macro_rules! serde_as_checked_string {
    ($name:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use serde_as_checked_string;

serde_as_checked_string!(Name);
serde_as_checked_string!(Email);
serde_as_checked_string!(ItemDescription);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  John@Example.COM ").unwrap().as_str(),
            "john@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_rejected_with_the_field_named() {
        for raw in [
            "", "plain", "a@b", "@x.io", "a@.io", "a b@x.io", "a@x..io", "a@@x.io", "a@x.io.",
        ] {
            let err = Email::parse(raw).unwrap_err();
            assert!(
                matches!(&err, DomainError::Validation(m) if m.contains("email")),
                "{raw}: {err:?}"
            );
        }
    }

    #[test]
    fn an_email_over_255_characters_is_rejected_for_its_length() {
        // A valid local part (64 characters) so that only the total length can fail.
        let at_limit = format!("{}@{}.io", "a".repeat(64), "b".repeat(187));
        assert_eq!(at_limit.chars().count(), 255);
        assert!(
            Email::parse(&at_limit).is_ok(),
            "255 characters are allowed"
        );
        let over = format!("{}@{}.io", "a".repeat(64), "b".repeat(188));
        let err = Email::parse(&over).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("email must be at most 255 characters"),
            "256 characters must fail on the length rule"
        );
    }

    #[test]
    fn password_length_bounds() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        let err = Password::parse(&"x".repeat(129)).unwrap_err();
        assert!(matches!(err, DomainError::Validation(m) if m.contains("password")));
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn name_is_trimmed_and_bounded() {
        assert_eq!(Name::parse("  John Doe ").unwrap().as_str(), "John Doe");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"n".repeat(255)).is_ok());
        assert!(Name::parse(&"n".repeat(256)).is_err());
    }

    #[test]
    fn nul_and_other_controls_are_refused_with_the_field_named() {
        // Vertical tab and NEL are white space to `trim` but never text a field holds, at
        // its ends too (the API's schemas say so).
        for raw in [
            "Jo\0hn",
            "\u{0}",
            "a\u{1b}[31mred",
            "x\u{7f}",
            "bell\u{7}",
            "\u{b}Jo",
            "Jo\u{85}",
        ] {
            let err = Name::parse(raw).unwrap_err().to_string();
            assert!(err.starts_with("name must not contain"), "{raw:?}: {err}");
            let err = ItemDescription::parse(raw).unwrap_err().to_string();
            assert!(
                err.starts_with("item_description must not"),
                "{raw:?}: {err}"
            );
        }
        assert!(ItemDescription::parse("Desk\n\twith drawers\r\n").is_ok());
        assert!(Email::parse("a\0b@x.io").is_err());
    }

    #[test]
    fn item_description_counts_characters_not_bytes() {
        assert!(ItemDescription::parse(&"é".repeat(1000)).is_ok());
        assert!(ItemDescription::parse(&"é".repeat(1001)).is_err());
        assert!(ItemDescription::parse(" \t ").is_err());
    }
}
