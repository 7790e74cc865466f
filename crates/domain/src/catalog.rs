//! The catalog: products with a price and a stock, and the ledger of every stock movement.

use chrono::{DateTime, Utc};

use crate::error::corrupt;
use crate::input::{checked_text, invalid};
use crate::{ActorKind, DomainError, Money, OrderId, ProductId, UserId};

/// A stock-keeping unit: 1–64 of `A–Z a–z 0–9 . _ -`, kept as written and unique without
/// regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    pub const MAX_LENGTH: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.is_empty() || raw.len() > Self::MAX_LENGTH {
            return Err(invalid(format!(
                "sku must be 1–{} characters",
                Self::MAX_LENGTH
            )));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(invalid(
                "sku may contain only A–Z, a–z, 0–9, '.', '_' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness is judged on: `mug-01` and `MUG-01` are one product.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A product's name: 1–255 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        checked_text("name", raw, 255).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product's description: 0–5000 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductDescription(String);

impl ProductDescription {
    pub const MAX_LENGTH: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.trim().is_empty() {
            return Ok(Self::default());
        }
        checked_text("description", raw, Self::MAX_LENGTH).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Units that can still be ordered: 0 to 10^9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stock(i64);

impl Stock {
    pub const MAX: i64 = 1_000_000_000;

    pub fn parse(units: i64) -> Result<Self, DomainError> {
        if (0..=Self::MAX).contains(&units) {
            Ok(Self(units))
        } else {
            Err(invalid(format!("stock must be 0–{}", Self::MAX)))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// The stock after `delta` units come in (positive) or go out (negative); too few
    /// units is a conflict that says how many are left.
    pub fn moved(self, delta: i64, sku: &Sku) -> Result<Stock, DomainError> {
        let after = self.0.checked_add(delta).unwrap_or(i64::MAX);
        if after < 0 {
            return Err(DomainError::OutOfStock {
                sku: sku.as_str().to_owned(),
                left: self.0,
            });
        }
        if after > Self::MAX {
            return Err(DomainError::StockFull {
                sku: sku.as_str().to_owned(),
                max: Self::MAX,
            });
        }
        Ok(Self(after))
    }
}

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub name: ProductName,
    pub description: ProductDescription,
    pub price: Money,
    pub stock: Stock,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A product about to be stored; a stock above zero comes in with one `adjustment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub sku: Sku,
    pub name: ProductName,
    pub description: ProductDescription,
    pub price: Money,
    pub stock: Stock,
    pub created_at: DateTime<Utc>,
}

/// Why a product's stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum MovementReason {
    /// By hand (or the stock a product was created with).
    Adjustment,
    /// Taken by an order placed.
    Order,
    /// Taken or given back by an edit of an order's lines.
    OrderEdit,
    /// Given back by a cancellation.
    OrderCancel,
    /// Taken again by an admin's override out of `cancelled`.
    OrderReinstated,
}

impl MovementReason {
    pub const ALL: &'static [MovementReason] = <MovementReason as strum::VariantArray>::VARIANTS;

    /// The name on the wire and in the databases.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        crate::names::parse(raw, Self::ALL, Self::as_str, "reason")
    }
}

/// A change of one product's stock that an order causes: negative takes units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockDelta {
    pub product_id: ProductId,
    pub delta: i64,
}

/// One row of a product's stock ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMovement {
    pub id: i64,
    pub product_id: ProductId,
    pub delta: i64,
    pub stock_after: Stock,
    pub reason: MovementReason,
    pub order_id: Option<OrderId>,
    pub note: Option<String>,
    pub actor: ActorKind,
    pub actor_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A stock adjustment by hand: a non-zero delta and why (1–255 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockAdjustment {
    pub delta: i64,
    pub reason: String,
}

impl StockAdjustment {
    pub fn parse(delta: i64, reason: &str) -> Result<Self, DomainError> {
        if delta == 0 || delta.unsigned_abs() > Stock::MAX as u64 {
            return Err(invalid(format!(
                "delta must be a non-zero number of units, at most {} either way",
                Stock::MAX
            )));
        }
        Ok(Self {
            delta,
            reason: checked_text("reason", reason, 255)?,
        })
    }
}

/// Which products a list holds by their `active` flag; customers see only active ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActiveFilter {
    #[default]
    Active,
    Inactive,
    Any,
}

impl ActiveFilter {
    /// `true`, `false` or `any`, as the `active` parameter says it.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "true" => Ok(Self::Active),
            "false" => Ok(Self::Inactive),
            "any" => Ok(Self::Any),
            _ => Err(invalid("active must be true, false or any")),
        }
    }

    /// The `active` flag a product must have to be kept; `None` keeps any.
    pub fn required_flag(self) -> Option<bool> {
        match self {
            Self::Active => Some(true),
            Self::Inactive => Some(false),
            Self::Any => None,
        }
    }

    pub fn keeps(self, active: bool) -> bool {
        self.required_flag().is_none_or(|flag| flag == active)
    }
}

/// A search of the catalog: a case-insensitive substring (3+ characters) of a name or a
/// sku, or, shorter, a prefix of a sku. Kept lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery(String);

impl ProductQuery {
    pub const MAX_LENGTH: usize = 100;
    /// The shortest query matched anywhere in a name or sku (trigram indexes need three).
    pub const SUBSTRING_FROM: usize = 3;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let q = raw.trim();
        crate::input::refuse_nul("q", q)?;
        match q.chars().count() {
            0 => Err(invalid("q must not be empty")),
            n if n > Self::MAX_LENGTH => Err(invalid(format!(
                "q must be at most {} characters",
                Self::MAX_LENGTH
            ))),
            _ => Ok(Self(q.to_lowercase())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it matches anywhere in a name or sku, not only at the start of a sku.
    pub fn is_substring(&self) -> bool {
        self.0.chars().count() >= Self::SUBSTRING_FROM
    }

    /// The rule both stores' indexes serve, for tests to hold them to.
    pub fn matches(&self, product: &Product) -> bool {
        let sku = product.sku.key();
        if self.is_substring() {
            product.name.as_str().to_lowercase().contains(&self.0) || sku.contains(&self.0)
        } else {
            sku.starts_with(&self.0)
        }
    }
}

/// Which products a page of the catalog holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductFilter {
    pub active: ActiveFilter,
    pub q: Option<ProductQuery>,
}

/// What a `PATCH /products/{id}` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductChanges {
    pub name: Option<ProductName>,
    pub description: Option<ProductDescription>,
    /// In the product's own currency, which never changes.
    pub price: Option<i64>,
    pub active: Option<bool>,
}

/// A product as either store reads it, checked again on the way in.
#[derive(Debug, Clone)]
pub struct StoredProduct {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoredProduct {
    pub fn into_product(self) -> Result<Product, DomainError> {
        let currency = corrupt(crate::Currency::parse(&self.currency))?;
        Ok(Product {
            id: corrupt(ProductId::parse(self.id))?,
            sku: corrupt(Sku::parse(&self.sku))?,
            name: corrupt(ProductName::parse(&self.name))?,
            description: corrupt(ProductDescription::parse(&self.description))?,
            price: Money::new(self.price, currency),
            stock: corrupt(Stock::parse(self.stock))?,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A ledger row as either store reads it.
#[derive(Debug, Clone)]
pub struct StoredMovement {
    pub id: i64,
    pub product_id: i64,
    pub delta: i64,
    pub stock_after: i64,
    pub reason: String,
    pub order_id: Option<i64>,
    pub note: Option<String>,
    pub actor: ActorKind,
    pub actor_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl StoredMovement {
    pub fn into_movement(self) -> Result<StockMovement, DomainError> {
        Ok(StockMovement {
            id: self.id,
            product_id: corrupt(ProductId::parse(self.product_id))?,
            delta: self.delta,
            stock_after: corrupt(Stock::parse(self.stock_after))?,
            reason: corrupt(MovementReason::parse(&self.reason))?,
            order_id: corrupt(self.order_id.map(OrderId::parse).transpose())?,
            note: self.note,
            actor: self.actor,
            actor_id: corrupt(self.actor_id.map(UserId::parse).transpose())?,
            created_at: self.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_short_plain_and_compared_without_case() {
        assert_eq!(
            Sku::parse("MUG-01").unwrap().key(),
            Sku::parse("mug-01").unwrap().key()
        );
        assert_eq!(Sku::parse("a.b_c-9").unwrap().as_str(), "a.b_c-9");
        for refused in ["", "has space", "ümlaut", "x/y", &"a".repeat(65)] {
            let err = Sku::parse(refused).unwrap_err();
            assert!(
                matches!(&err, DomainError::Validation(m) if m.starts_with("sku")),
                "{refused}: {err:?}"
            );
        }
    }

    #[test]
    fn stock_never_goes_below_zero_and_a_shortage_says_how_many_are_left() {
        let sku = Sku::parse("LAMP-7").unwrap();
        let one = Stock::parse(1).unwrap();
        assert_eq!(one.moved(-1, &sku).unwrap().get(), 0);
        let short = one.moved(-2, &sku).unwrap_err();
        assert_eq!(short.to_string(), "not enough stock for LAMP-7: 1 left");
        assert!(one.moved(Stock::MAX, &sku).is_err());
        assert!(Stock::parse(-1).is_err());
    }

    #[test]
    fn an_adjustment_moves_something_for_a_reason() {
        assert!(StockAdjustment::parse(0, "count").is_err());
        assert!(StockAdjustment::parse(5, "  ").is_err());
        assert_eq!(
            StockAdjustment::parse(-3, " broke ").unwrap().reason,
            "broke"
        );
    }

    #[test]
    fn movement_reasons_have_the_contracts_names() {
        let names: Vec<&str> = MovementReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "adjustment",
                "order",
                "order_edit",
                "order_cancel",
                "order_reinstated"
            ]
        );
        for reason in MovementReason::ALL {
            assert_eq!(MovementReason::parse(reason.as_str()).unwrap(), *reason);
        }
    }
}
