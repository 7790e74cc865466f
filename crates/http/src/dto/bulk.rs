//! `POST /orders/bulk`: the request, and each order's result in the answer.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trachios_domain::{BulkAction, BulkItem, BulkRequest, DomainError, RequestFingerprint};
use utoipa::ToSchema;

use super::OrderResponse;
use crate::openapi::schemas::{BulkActionName, OrderStatusName};
use crate::ApiError;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkOrdersRequest {
    /// The orders to change, each once; the results come in this order.
    #[schema(min_items = 1, max_items = 1000, value_type = Vec<i64>)]
    pub ids: Vec<i64>,
    /// `cancel` (what the owner's cancel allows: not a delivered or cancelled order) or
    /// `set_status` (any status, as `PUT /orders/{id}/status`).
    #[schema(value_type = BulkActionName)]
    pub action: String,
    /// The status to set; only with `set_status`.
    #[schema(value_type = Option<OrderStatusName>)]
    pub status: Option<String>,
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
