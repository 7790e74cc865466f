//! The event as endpoints receive it: the API's own order shape inside a stable envelope.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use trachios_domain::ports::OrderRenderer;
use trachios_domain::{DomainError, OrderStatus, WebhookEvent};

#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    created_at: DateTime<Utc>,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    /// The order exactly as the API renders it.
    order: &'a RawValue,
    /// As the order's history names it; equal statuses for an edit.
    kind: &'static str,
    from_status: Option<OrderStatus>,
    to_status: OrderStatus,
    actor: &'static str,
    actor_id: Option<i64>,
}

/// The JSON body of every attempt to deliver `event`: the same bytes each time, the order
/// in it rendered by the API's own renderer.
pub fn event_body(
    event: &WebhookEvent,
    renderer: &dyn OrderRenderer,
) -> Result<Vec<u8>, DomainError> {
    let order = renderer.render(&event.order)?;
    let order: &RawValue = serde_json::from_slice(&order).map_err(DomainError::internal)?;
    let envelope = Envelope {
        id: &event.id,
        kind: event.kind.as_str(),
        created_at: event.created_at,
        data: Data {
            order,
            kind: event.kind.event_kind().as_str(),
            from_status: event.from,
            to_status: event.to,
            actor: event.actor.as_str(),
            actor_id: event.actor_id.map(|id| id.get()),
        },
    };
    serde_json::to_vec(&envelope).map_err(DomainError::internal)
}
