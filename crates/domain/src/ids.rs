//! Typed ids: an order id can never be passed where a user id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// Ids are positive 64-bit integers.
            pub fn parse(raw: i64) -> Result<Self, DomainError> {
                if raw > 0 {
                    Ok(Self(raw))
                } else {
                    Err(DomainError::Validation(
                        concat!($what, " id must be a positive integer").to_owned(),
                    ))
                }
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = DomainError;

            fn try_from(raw: i64) -> Result<Self, DomainError> {
                Self::parse(raw)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's id.
    UserId,
    "user"
);
id_type!(
    /// An order's id.
    OrderId,
    "order"
);
id_type!(
    /// A webhook endpoint's id.
    WebhookId,
    "webhook"
);
id_type!(
    /// A catalog product's id.
    ProductId,
    "product"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_positive_and_name_their_kind() {
        assert!(OrderId::parse(0).is_err());
        assert!(OrderId::parse(-3).is_err());
        assert_eq!(OrderId::parse(7).map(OrderId::get).ok(), Some(7));
        let err = UserId::parse(0).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("user id must be a positive integer"));
    }

    #[test]
    fn ids_serialise_as_plain_numbers_and_refuse_non_positive_ones() {
        let id = OrderId::parse(42).expect("positive");
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("42"));
        assert!(serde_json::from_str::<OrderId>("0").is_err());
    }
}
