//! Money as an integer number of a currency's minor unit: no floats anywhere, and every
//! sum and product checked, so that no amount wraps or rounds.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// An ISO 4217 currency the server knows, with the number of digits after its decimal
/// point (2 for EUR, 0 for JPY, 3 for KWD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    iso: iso_currency::Currency,
    exponent: u8,
}

impl Currency {
    /// An upper-case alphabetic code such as `EUR`. Codes without a minor unit (gold,
    /// testing codes, `XXX`) are no currency an order can be priced in.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        let refused = || {
            DomainError::Validation(format!(
                "currency must be an ISO 4217 code such as EUR, not {:?}",
                code.chars().take(8).collect::<String>()
            ))
        };
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(refused());
        }
        let iso = iso_currency::Currency::from_code(code).ok_or_else(refused)?;
        let exponent = iso
            .exponent()
            .and_then(|e| u8::try_from(e).ok())
            .ok_or_else(refused)?;
        Ok(Self { iso, exponent })
    }

    pub fn code(self) -> &'static str {
        self.iso.code()
    }

    /// Every currency `parse` accepts, for documents and forms to list.
    pub fn known() -> impl Iterator<Item = Currency> {
        use iso_currency::IntoEnumIterator;
        iso_currency::Currency::iter().filter_map(|iso| Currency::parse(iso.code()).ok())
    }

    /// Digits after the decimal point: 100 minor units are 1 EUR, 1 JPY is 1 minor unit.
    pub fn exponent(self) -> u8 {
        self.exponent
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in one currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// Why two amounts could not be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amounts in {0} and {1} cannot be added")]
    CurrencyMismatch(Currency, Currency),
    #[error("the amount is too large")]
    Overflow,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_times(self, quantity: u32) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(i64::from(quantity))
            .map(|minor| Money::new(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }
}

/// A catalog price: 0 to 10^12 minor units.
pub fn price(minor: i64, currency: Currency) -> Result<Money, DomainError> {
    price_in_range(minor).map(|minor| Money::new(minor, currency))
}

/// The range rule of a price, for a change that keeps the product's currency.
pub fn price_in_range(minor: i64) -> Result<i64, DomainError> {
    if (0..=MAX_PRICE).contains(&minor) {
        Ok(minor)
    } else {
        Err(DomainError::Validation(format!(
            "price must be 0–{MAX_PRICE} (in the currency's minor unit)"
        )))
    }
}

pub const MAX_PRICE: i64 = 1_000_000_000_000;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn currencies_know_their_exponent_and_unknown_or_unit_less_codes_are_refused() {
        assert_eq!(eur().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        for refused in ["eur", "EURO", "ZZZ", "XAU", "", "€"] {
            let err = Currency::parse(refused).unwrap_err();
            assert!(
                matches!(&err, DomainError::Validation(m) if m.starts_with("currency")),
                "{refused}: {err:?}"
            );
        }
    }

    #[test]
    fn the_known_currencies_are_those_parse_accepts() {
        let known: Vec<&str> = Currency::known().map(Currency::code).collect();
        assert!(known.contains(&"EUR") && known.contains(&"JPY") && !known.contains(&"XAU"));
        assert!(known.len() > 100, "{}", known.len());
    }

    #[test]
    fn amounts_in_different_currencies_do_not_add() {
        let yen = Money::new(5, Currency::parse("JPY").unwrap());
        assert!(matches!(
            Money::new(5, eur()).checked_add(yen),
            Err(MoneyError::CurrencyMismatch(..))
        ));
    }

    #[test]
    fn prices_are_bounded() {
        assert!(price(0, eur()).is_ok());
        assert!(price(MAX_PRICE, eur()).is_ok());
        assert!(price(-1, eur()).is_err());
        assert!(price(MAX_PRICE + 1, eur()).is_err());
    }

    proptest! {
        #[test]
        fn checked_arithmetic_is_exact_or_refused_never_wrapped(
            a in any::<i64>(), b in any::<i64>(), q in any::<u32>()
        ) {
            let sum = Money::new(a, eur()).checked_add(Money::new(b, eur()));
            match i128::from(a) + i128::from(b) {
                exact if i64::try_from(exact).is_ok() => prop_assert_eq!(sum.unwrap().minor() as i128, exact),
                _ => prop_assert_eq!(sum, Err(MoneyError::Overflow)),
            }
            let product = Money::new(a, eur()).checked_times(q);
            match i128::from(a) * i128::from(q) {
                exact if i64::try_from(exact).is_ok() => prop_assert_eq!(product.unwrap().minor() as i128, exact),
                _ => prop_assert_eq!(product, Err(MoneyError::Overflow)),
            }
        }
    }
}
