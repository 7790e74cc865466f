//! The catalog's JSON: products, their stock adjustments and their ledger. Amounts are
//! integers of the currency's minor unit, never floats.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use trachios_domain::{Product, Stock, StockMovement};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::ToSchema;

use crate::openapi::schemas::{ActorKind, MovementReasonName};

/// A whole number however JSON writes it: `1250` or `1250.0` are one value to JSON (and to
/// JSON Schema's `integer`); `12.5` is refused, so no amount is ever rounded.
pub(super) fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_i64() {
        return Ok(whole);
    }
    match number.as_f64() {
        Some(n) if n.fract() != 0.0 => Err(serde::de::Error::custom(format!(
            "{number} is not a whole number"
        ))),
        // Below 2^53, where every whole f64 is exact.
        Some(n) if n.abs() < 9.0e15 => Ok(n as i64),
        _ => Err(serde::de::Error::custom(format!("{number} is too large"))),
    }
}

fn optional_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Product)]
pub struct ProductResponse {
    pub id: i64,
    #[schema(example = "MUG-01")]
    pub sku: String,
    #[schema(example = "Enamel mug")]
    pub name: String,
    pub description: String,
    /// In the currency's minor unit (cents for EUR).
    #[schema(example = 1250)]
    pub price: i64,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: &'static str,
    /// Units that can still be ordered.
    pub stock: i64,
    pub active: bool,
    #[serde(serialize_with = "trachios_domain::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "trachios_domain::rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductResponse {
    fn from(p: Product) -> Self {
        Self {
            id: p.id.get(),
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_str().to_owned(),
            price: p.price.minor(),
            currency: p.price.currency().code(),
            stock: p.stock.get(),
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// `POST /products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    /// 1–64 of `A–Z a–z 0–9 . _ -`, unique without regard to case.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "MUG-01"
    )]
    pub sku: String,
    /// 1–255 characters after trimming; no control characters but tab and line breaks.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "Enamel mug"
    )]
    pub name: String,
    /// 0–5000 characters; no control characters but tab and line breaks.
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub description: Option<String>,
    /// 0–10^12, in the currency's minor unit.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 1250)]
    #[serde(deserialize_with = "whole_number")]
    pub price: i64,
    /// ISO 4217; the server's `CURRENCY` when left out.
    #[schema(schema_with = currency_code)]
    pub currency: Option<String>,
    /// 0–10^9 (default 0).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub stock: Option<i64>,
}

/// `PATCH /products/{id}`: only the fields given change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub name: Option<String>,
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub description: Option<String>,
    /// 0–10^12, in the product's currency (which never changes).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    #[serde(default, deserialize_with = "optional_whole_number")]
    pub price: Option<i64>,
    pub active: Option<bool>,
}

/// `POST /products/{id}/stock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustmentRequest {
    /// Units in (positive) or out (negative); never zero.
    #[schema(schema_with = non_zero_delta)]
    #[serde(deserialize_with = "whole_number")]
    pub delta: i64,
    /// Why, 1–255 characters; kept as the movement's `note`.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "delivery from the supplier"
    )]
    pub reason: String,
}

/// The ISO 4217 codes the server knows, from the domain's list.
pub(super) fn currency_code() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(trachios_domain::Currency::known().map(|c| c.code())))
        .examples(["EUR"])
        .build()
        .into()
}

/// 1 to 10^9 units either way: a movement of nothing is no movement.
fn non_zero_delta() -> Schema {
    let side = |low: i64, high: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(low))
            .maximum(Some(high))
    };
    OneOfBuilder::new()
        .item(side(-Stock::MAX, -1))
        .item(side(1, Stock::MAX))
        .description(Some("Units in (positive) or out (negative); never zero."))
        .build()
        .into()
}

/// One row of a product's stock ledger.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StockMovement)]
pub struct StockMovementResponse {
    pub id: i64,
    pub product_id: i64,
    pub delta: i64,
    /// The stock this movement left.
    pub stock_after: i64,
    #[schema(value_type = MovementReasonName)]
    pub reason: &'static str,
    pub order_id: Option<i64>,
    pub note: Option<String>,
    #[schema(value_type = ActorKind)]
    pub actor: &'static str,
    pub actor_id: Option<i64>,
    #[serde(serialize_with = "trachios_domain::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
}

impl From<StockMovement> for StockMovementResponse {
    fn from(m: StockMovement) -> Self {
        Self {
            id: m.id,
            product_id: m.product_id.get(),
            delta: m.delta,
            stock_after: m.stock_after.get(),
            reason: m.reason.as_str(),
            order_id: m.order_id.map(|id| id.get()),
            note: m.note,
            actor: m.actor.as_str(),
            actor_id: m.actor_id.map(|id| id.get()),
            created_at: m.created_at,
        }
    }
}
