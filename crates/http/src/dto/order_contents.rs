//! What an order holds beside its status, as the API reads and writes it: lines, total,
//! shipping address and note. Amounts are integers of the currency's minor unit.

use serde::{Deserialize, Deserializer, Serialize};
use trachios_domain::{
    AddressInput, DomainError, ItemDescription, LineRequest, LineRequests, OrderDetails, OrderEdit,
    OrderItems, OrderLine, OrderNote, OrderRequest, ProductId, ProductRef, Quantity,
    ShippingAddress, Sku,
};
use utoipa::ToSchema;

use super::catalog::whole_number;

/// A field that may be left out but is never null when sent, as the schema says: which of
/// two fields a body names must not depend on how a client writes "nothing".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// `present` for an id, written however JSON writes a whole number (`3` or `3.0`).
fn present_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    whole_number(deserializer).map(Some)
}

/// `POST /orders`: free text (`item_description`, the v1 body) or `lines` of the catalog,
/// never both; `shipping_address` and `note` go with either.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrderRequest {
    /// The v1 body: 1–1000 characters after trimming; no control characters but tab and
    /// line breaks. Refused when `FREE_TEXT_ORDERS=false`.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "MacBook Pro 16-inch M3"
    )]
    #[serde(default, deserialize_with = "present")]
    pub item_description: Option<String>,
    /// 1–100 lines, each product at most once, all in one currency; priced by the server.
    #[schema(nullable = false, min_items = 1, max_items = 100)]
    #[serde(default, deserialize_with = "present")]
    pub lines: Option<Vec<OrderLineRequest>>,
    pub shipping_address: Option<ShippingAddressBody>,
    /// 0–1000 characters; empty is none.
    #[schema(
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "Leave it with the porter"
    )]
    pub note: Option<String>,
}

/// One line asked for: the product by `product_id` or by `sku`, exactly one of them.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct OrderLineRequest {
    #[serde(default, deserialize_with = "present_whole_number")]
    #[schema(nullable = false, minimum = 1, example = 3)]
    pub product_id: Option<i64>,
    /// Compared without regard to case.
    #[serde(default, deserialize_with = "present")]
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]+$",
        example = "LAMP-7"
    )]
    pub sku: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 1000, example = 2)]
    pub quantity: i64,
}

/// Where an order goes. `country` is an ISO 3166-1 alpha-2 code in upper case.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = ShippingAddress)]
pub struct ShippingAddressBody {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "Ada Lovelace"
    )]
    pub name: String,
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "12 St James's Square"
    )]
    pub line1: String,
    #[serde(default)]
    #[schema(
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub line2: String,
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "London"
    )]
    pub city: String,
    #[serde(default)]
    #[schema(
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub region: String,
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "SW1Y 4JH"
    )]
    pub postal_code: String,
    #[schema(schema_with = country_code)]
    pub country: String,
    /// `+` and 7–15 digits; empty is none.
    #[serde(default)]
    #[schema(pattern = r"^(\+[0-9]{7,15})?$", example = "+442079460000")]
    pub phone: String,
}

/// The ISO 3166-1 alpha-2 codes the server knows, from the domain's list.
fn country_code() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            trachios_domain::CountryCode::known().map(|c| c.as_str()),
        ))
        .examples(["GB"])
        .build()
        .into()
}

impl ShippingAddressBody {
    fn parse(&self) -> Result<ShippingAddress, DomainError> {
        ShippingAddress::parse(&AddressInput {
            name: &self.name,
            line1: &self.line1,
            line2: &self.line2,
            city: &self.city,
            region: &self.region,
            postal_code: &self.postal_code,
            country: &self.country,
            phone: &self.phone,
        })
    }
}

impl From<&ShippingAddress> for ShippingAddressBody {
    fn from(a: &ShippingAddress) -> Self {
        Self {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.as_str().to_owned(),
            phone: a
                .phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
        }
    }
}

/// `lines[i].` before a refusal's own field name.
fn on_line(i: usize) -> impl Fn(DomainError) -> DomainError {
    move |err| match err {
        DomainError::Validation(message) => {
            DomainError::Validation(format!("lines[{i}].{message}"))
        }
        other => other,
    }
}

impl OrderLineRequest {
    fn parse(&self, i: usize) -> Result<LineRequest, DomainError> {
        let product = match (self.product_id, &self.sku) {
            (Some(id), None) => ProductRef::Id(
                ProductId::parse(id)
                    .map_err(|_| {
                        DomainError::Validation("product_id must be a positive integer".into())
                    })
                    .map_err(on_line(i))?,
            ),
            (None, Some(sku)) => ProductRef::Sku(Sku::parse(sku).map_err(on_line(i))?),
            _ => {
                return Err(DomainError::Validation(format!(
                    "lines[{i}] must name its product by product_id or by sku, exactly one of them"
                )))
            }
        };
        Ok(LineRequest {
            product,
            quantity: Quantity::parse(self.quantity, "quantity").map_err(on_line(i))?,
        })
    }
}

impl CreateOrderRequest {
    /// What the body asks for, every part checked and every refusal naming its field.
    pub fn parse(&self) -> Result<OrderRequest, DomainError> {
        let items = match (&self.item_description, &self.lines) {
            (Some(_), Some(_)) => {
                return Err(DomainError::Validation(
                    "an order has lines or an item_description, not both".into(),
                ))
            }
            (Some(item), None) => OrderItems::FreeText(ItemDescription::parse(item)?),
            (None, Some(lines)) => OrderItems::Lines(parse_lines(lines)?),
            (None, None) => {
                return Err(DomainError::Validation(
                    "lines (or, for a free-text order, item_description) is required".into(),
                ))
            }
        };
        Ok(OrderRequest {
            items,
            shipping_address: self
                .shipping_address
                .as_ref()
                .map(ShippingAddressBody::parse)
                .transpose()?,
            note: parse_note(self.note.as_deref())?,
        })
    }
}

fn parse_lines(lines: &[OrderLineRequest]) -> Result<LineRequests, DomainError> {
    LineRequests::parse(
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| line.parse(i))
            .collect::<Result<_, _>>()?,
    )
}

fn parse_note(note: Option<&str>) -> Result<Option<OrderNote>, DomainError> {
    Ok(note.map(OrderNote::parse).transpose()?.flatten())
}

/// A field that may be left out (no change) or null (removed).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /orders/{id}`: what to change while the order is `created`; what is left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct EditOrderRequest {
    /// The new lines, replacing every old one (only an order placed with lines has them);
    /// priced by the server now, stock moving by the difference.
    #[schema(nullable = false, min_items = 1, max_items = 100)]
    #[serde(default, deserialize_with = "present")]
    pub lines: Option<Vec<OrderLineRequest>>,
    /// The new address; null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<ShippingAddressBody>)]
    pub shipping_address: Option<Option<ShippingAddressBody>>,
    /// The new note, 0–1000 characters; null or empty removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(
        value_type = Option<String>,
        max_length = 1000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "Leave it with the porter"
    )]
    pub note: Option<Option<String>>,
}

impl EditOrderRequest {
    /// What the edit asks for, every part checked and every refusal naming its field.
    pub fn parse(&self) -> Result<OrderEdit, DomainError> {
        OrderEdit::new(
            self.lines.as_deref().map(parse_lines).transpose()?,
            self.shipping_address
                .as_ref()
                .map(|a| a.as_ref().map(ShippingAddressBody::parse).transpose())
                .transpose()?,
            self.note
                .as_ref()
                .map(|n| parse_note(n.as_deref()))
                .transpose()?,
        )
    }
}

/// One line as sold.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrderLine)]
pub struct OrderLineResponse {
    pub product_id: i64,
    #[schema(example = "MUG-01")]
    pub sku: String,
    #[schema(example = "Enamel mug")]
    pub name: String,
    #[schema(minimum = 1, maximum = 1000, example = 2)]
    pub quantity: u32,
    /// In the currency's minor unit, as the catalog priced it when the order was placed.
    #[schema(example = 1250)]
    pub unit_price: i64,
    #[schema(example = 2500)]
    pub line_total: i64,
}

impl From<&OrderLine> for OrderLineResponse {
    fn from(l: &OrderLine) -> Self {
        Self {
            product_id: l.product_id.get(),
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity.get(),
            unit_price: l.unit_price.minor(),
            line_total: l.line_total.minor(),
        }
    }
}

/// The order's details as every Order carries them.
pub(super) struct DetailFields {
    pub currency: Option<&'static str>,
    pub total: Option<i64>,
    pub shipping_address: Option<ShippingAddressBody>,
    pub note: Option<String>,
    pub lines: Vec<OrderLineResponse>,
}

impl From<&OrderDetails> for DetailFields {
    fn from(d: &OrderDetails) -> Self {
        Self {
            currency: d.currency().map(|c| c.code()),
            total: d.total.map(|t| t.minor()),
            shipping_address: d.shipping_address.as_deref().map(ShippingAddressBody::from),
            note: d.note.as_ref().map(|n| n.as_str().to_owned()),
            lines: d.lines.iter().map(OrderLineResponse::from).collect(),
        }
    }
}
