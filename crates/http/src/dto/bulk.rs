//! `POST /orders/bulk`: the request, and each order's result in the answer.

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use trachios_domain::{
    BulkAction, BulkItem, BulkRequest, DomainError, RequestFingerprint, MAX_BULK_IDS,
};
use utoipa::ToSchema;

use super::catalog::whole_number;
use super::OrderResponse;
use crate::openapi::schemas::{BulkCancelName, BulkSetStatusName, OrderStatusName};
use crate::ApiError;

/// `POST /orders/bulk` as it is read; the document describes it as `BulkOrdersBody`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BulkOrdersRequest {
    #[serde(deserialize_with = "whole_numbers")]
    pub ids: Vec<i64>,
    pub action: String,
    pub status: Option<String>,
}

/// Whole numbers however JSON writes them (`7` or `7.0`, one value to JSON Schema).
fn whole_numbers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    Ok(Vec::<Whole>::deserialize(deserializer)?
        .into_iter()
        .map(|Whole(n)| n)
        .collect())
}

/// A bulk cancel, or a status to set on each order.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // describes only
pub enum BulkOrdersBody {
    Cancel(BulkCancelBody),
    SetStatus(BulkSetStatusBody),
}

/// Cancels each order as its owner's cancel would: not a delivered or cancelled one.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BulkCancelBody {
    /// The orders to change, each once; the results come in this order.
    #[schema(schema_with = bulk_ids)]
    ids: Vec<i64>,
    #[schema(value_type = BulkCancelName)]
    action: String,
}

/// Sets the status of each order as `PUT /orders/{id}/status` would.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BulkSetStatusBody {
    /// The orders to change, each once; the results come in this order.
    #[schema(schema_with = bulk_ids)]
    ids: Vec<i64>,
    #[schema(value_type = BulkSetStatusName)]
    action: String,
    #[schema(value_type = OrderStatusName)]
    status: String,
}

/// 1–`MAX_BULK_IDS` order ids, none twice.
fn bulk_ids() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(1)),
        )
        .min_items(Some(1))
        .max_items(Some(MAX_BULK_IDS))
        .unique_items(true)
        .build()
}

impl BulkOrdersRequest {
    pub fn parse(&self) -> Result<BulkRequest, DomainError> {
        let action = BulkAction::parse(&self.action, self.status.as_deref())?;
        BulkRequest::new(&self.ids, action)
    }

    /// What the request asks for, as a key's first use is compared with its repeats.
    pub fn fingerprint(&self) -> RequestFingerprint {
        let mut digest = Sha256::new();
        digest.update(b"POST /orders/bulk\0");
        // Numbers and strings serialise without failing; the fields in a fixed order.
        let canonical =
            serde_json::to_vec(&(&self.ids, &self.action, &self.status)).unwrap_or_default();
        digest.update(&canonical);
        RequestFingerprint(digest.finalize().into())
    }
}

/// The answer: one result per id, in the order of the request's ids.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResultsResponse {
    pub results: Vec<BulkResult>,
}

/// One order's result: changed (or already as asked) with the order as it is now, or
/// refused with the status and error its single endpoint would have answered.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BulkResult {
    Done(BulkDone),
    Refused(BulkRefused),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDone {
    pub id: i64,
    /// Always `true`.
    pub ok: bool,
    /// Boxed: a result is mostly a refusal's few bytes or this.
    #[schema(value_type = OrderResponse)]
    pub order: Box<OrderResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRefused {
    pub id: i64,
    /// Always `false`.
    pub ok: bool,
    /// 400 (not allowed from the order's status), 404 (no such order) or 409 (the order
    /// kept changing, or too few units to reinstate it).
    #[schema(minimum = 400, maximum = 499)]
    pub status: u16,
    pub error: String,
}

impl From<BulkItem> for BulkResult {
    fn from(item: BulkItem) -> Self {
        let id = item.id.get();
        match item.outcome {
            Ok(order) => Self::Done(BulkDone {
                id,
                ok: true,
                order: Box::new(OrderResponse::from(order)),
            }),
            Err(err) => {
                let refusal = ApiError(err);
                Self::Refused(BulkRefused {
                    id,
                    ok: false,
                    status: refusal.status().as_u16(),
                    error: refusal.message(),
                })
            }
        }
    }
}

/// The answer's JSON text.
pub fn render_results(items: Vec<BulkItem>) -> Result<String, DomainError> {
    let results = items.into_iter().map(BulkResult::from).collect();
    serde_json::to_string(&BulkResultsResponse { results }).map_err(DomainError::internal)
}
