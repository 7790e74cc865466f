use bytes::Bytes;
use trachios_domain::ports::OrderRenderer;
use trachios_domain::{DomainError, Order, RenderedOrder};

/// Renders orders as the domain's own JSON, version included, so that a cache test can
/// tell which version it got back (the API's rendering leaves the version out).
pub struct DomainJson;

impl OrderRenderer for DomainJson {
    fn render(&self, order: &Order) -> Result<Bytes, DomainError> {
        serde_json::to_vec(order)
            .map(Bytes::from)
            .map_err(DomainError::internal)
    }
}

/// The order a `DomainJson` rendering was made from.
pub fn rendered_by_domain_json(rendered: &RenderedOrder) -> Order {
    serde_json::from_slice(&rendered.body).expect("a DomainJson rendering")
}
