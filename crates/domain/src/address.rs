//! Where an order goes, and what the customer asks of it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::input::{checked_text, invalid, serde_as_checked_string};
use crate::DomainError;

/// 0–255 characters after trimming, for the address's optional parts.
fn optional_text(field: &str, raw: &str) -> Result<String, DomainError> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        checked_text(field, raw, 255)
    }
}

/// An ISO 3166-1 alpha-2 code of a country that exists, upper case (`GB`, not `gb` or `UK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryCode(&'static str);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let refused =
            || invalid("shipping_address.country must be an ISO 3166-1 alpha-2 code such as GB");
        if raw.len() != 2 || !raw.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(refused());
        }
        let country = celes::Country::from_alpha2(raw).map_err(|_| refused())?;
        Ok(Self(country.alpha2))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Every code `parse` accepts, for documents and forms to list.
    pub fn known() -> impl Iterator<Item = CountryCode> {
        celes::Country::get_countries()
            .into_iter()
            .map(|country| CountryCode(country.alpha2))
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// `+` and 7–15 digits (E.164).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let digits = raw.strip_prefix('+').unwrap_or_default();
        if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(invalid(
                "shipping_address.phone must be + and 7–15 digits, such as +442079460000",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

serde_as_checked_string!(Phone);

/// The address an order ships to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: CountryCode,
    pub phone: Option<Phone>,
}

/// An address as a client sends it, every part unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressInput<'a> {
    pub name: &'a str,
    pub line1: &'a str,
    pub line2: &'a str,
    pub city: &'a str,
    pub region: &'a str,
    pub postal_code: &'a str,
    pub country: &'a str,
    pub phone: &'a str,
}

impl ShippingAddress {
    pub fn parse(input: &AddressInput<'_>) -> Result<Self, DomainError> {
        let required =
            |field: &str, raw: &str| checked_text(&format!("shipping_address.{field}"), raw, 255);
        let optional =
            |field: &str, raw: &str| optional_text(&format!("shipping_address.{field}"), raw);
        Ok(Self {
            name: required("name", input.name)?,
            line1: required("line1", input.line1)?,
            line2: optional("line2", input.line2)?,
            city: required("city", input.city)?,
            region: optional("region", input.region)?,
            postal_code: required("postal_code", input.postal_code)?,
            country: CountryCode::parse(input.country)?,
            phone: match input.phone.trim() {
                "" => None,
                phone => Some(Phone::parse(phone)?),
            },
        })
    }
}

/// What the customer asks of the order: 0–1000 characters; empty is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderNote(String);

impl OrderNote {
    pub const MAX_LEN: usize = 1000;

    pub fn parse(raw: &str) -> Result<Option<Self>, DomainError> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        checked_text("note", raw, Self::MAX_LEN).map(|note| Some(Self(note)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for OrderNote {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrderNote {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw)
            .map_err(serde::de::Error::custom)?
            .ok_or_else(|| serde::de::Error::custom("a stored note is never empty"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> AddressInput<'static> {
        AddressInput {
            name: "Ada Lovelace",
            line1: "12 St James's Square",
            city: "London",
            postal_code: "SW1Y 4JH",
            country: "GB",
            phone: "+442079460000",
            ..AddressInput::default()
        }
    }

    fn refusal(input: AddressInput<'_>) -> String {
        match ShippingAddress::parse(&input) {
            Err(DomainError::Validation(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn every_listed_country_parses_and_the_list_is_iso_3166_1() {
        let codes: Vec<_> = CountryCode::known().collect();
        assert_eq!(codes.len(), 250);
        for code in codes {
            assert_eq!(CountryCode::parse(code.as_str()).ok(), Some(code));
        }
    }

    #[test]
    fn a_complete_address_is_kept_as_written() {
        let address = ShippingAddress::parse(&ada()).unwrap();
        assert_eq!(address.country.as_str(), "GB");
        assert_eq!(address.phone.unwrap().as_str(), "+442079460000");
        assert_eq!(address.line2, "");
    }

    #[test]
    fn each_refusal_names_its_field() {
        assert!(refusal(AddressInput {
            country: "gb",
            ..ada()
        })
        .starts_with("shipping_address.country"));
        assert!(refusal(AddressInput {
            country: "UK",
            ..ada()
        })
        .starts_with("shipping_address.country"));
        assert!(refusal(AddressInput {
            country: "ZZ",
            ..ada()
        })
        .starts_with("shipping_address.country"));
        assert!(refusal(AddressInput { city: " ", ..ada() }).starts_with("shipping_address.city"));
        assert!(refusal(AddressInput {
            phone: "0207 946 0000",
            ..ada()
        })
        .starts_with("shipping_address.phone"));
        assert!(refusal(AddressInput {
            phone: "+123456",
            ..ada()
        })
        .starts_with("shipping_address.phone"));
        let long = "x".repeat(256);
        assert!(refusal(AddressInput {
            line2: &long,
            ..ada()
        })
        .starts_with("shipping_address.line2"));
    }

    #[test]
    fn a_note_is_optional_and_bounded() {
        assert_eq!(OrderNote::parse("  ").unwrap(), None);
        assert_eq!(
            OrderNote::parse(" porter ").unwrap().unwrap().as_str(),
            "porter"
        );
        assert!(OrderNote::parse(&"n".repeat(1001)).is_err());
    }
}
