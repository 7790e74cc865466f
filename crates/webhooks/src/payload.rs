//! The event as endpoints receive it: the API's own order shape inside a stable envelope.

use chrono::{DateTime, Utc};
use serde::Serialize;
use trachios_domain::{OrderStatus, WebhookEvent};

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
    order: OrderBody<'a>,
    from_status: Option<OrderStatus>,
    to_status: OrderStatus,
    actor: &'static str,
    actor_id: Option<i64>,
}

/// The fields of the API's `Order`, in its order.
#[derive(Serialize)]
struct OrderBody<'a> {
    id: i64,
    customer_id: i64,
    item_description: &'a str,
    status: OrderStatus,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The JSON body of every attempt to deliver `event`: the same bytes each time.
pub fn event_body(event: &WebhookEvent) -> Vec<u8> {
    let order = &event.order;
    let envelope = Envelope {
        id: &event.id,
        kind: event.kind.as_str(),
        created_at: event.created_at,
        data: Data {
            order: OrderBody {
                id: order.id.get(),
                customer_id: order.customer_id.get(),
                item_description: order.item_description.as_str(),
                status: order.status,
                created_at: order.created_at,
                updated_at: order.updated_at,
            },
            from_status: event.from,
            to_status: event.to,
            actor: event.actor.as_str(),
            actor_id: event.actor_id.map(|id| id.get()),
        },
    };
    // Serialising plain strings, numbers and times cannot fail.
    serde_json::to_vec(&envelope).unwrap_or_default()
}
