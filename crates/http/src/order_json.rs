use bytes::Bytes;
use trachios_domain::ports::OrderRenderer;
use trachios_domain::{DomainError, Order};

use crate::dto::OrderResponse;

/// An order as every endpoint sends it (`OrderResponse`), for the order caches, which keep
/// single orders in this form.
#[derive(Debug, Default, Clone, Copy)]
pub struct OrderJson;

impl OrderRenderer for OrderJson {
    fn render(&self, order: &Order) -> Result<Bytes, DomainError> {
        serde_json::to_vec(&OrderResponse::from(order.clone()))
            .map(Bytes::from)
            .map_err(DomainError::internal)
    }
}
