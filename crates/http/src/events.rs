//! Server-Sent Events: an order watch as a `text/event-stream` response.

use std::convert::Infallible;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use trachios_domain::services::{OrderWatch, WatchItem};
use trachios_domain::{DomainError, EventKind, Order};

use crate::dto::OrderResponse;
use crate::limits::StreamSlot;

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// The version of the order the client saw last, from the `Last-Event-ID` header an
/// `EventSource` sends when it reconnects; absent or empty means none.
pub(crate) fn last_event_id(req: &HttpRequest) -> Result<Option<i64>, DomainError> {
    let Some(value) = req.headers().get("last-event-id") else {
        return Ok(None);
    };
    let invalid = || {
        DomainError::Validation("Last-Event-ID must be an order version (a whole number)".into())
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .map(Some)
        .ok_or_else(invalid)
}

/// Streams the watch until it ends; the slot is held as long as the stream lasts.
pub(crate) fn event_stream(watch: OrderWatch, slot: StreamSlot) -> HttpResponse {
    let frames = futures_util::stream::unfold((watch, slot), |(mut watch, slot)| async move {
        let frame = match watch.next().await {
            WatchItem::Order(order, kind) => order_event(order, kind),
            WatchItem::KeepAlive => Bytes::from_static(KEEP_ALIVE),
            WatchItem::End => return None,
        };
        Some((Ok::<_, Infallible>(frame), (watch, slot)))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Proxies such as nginx would otherwise hold events back to fill a buffer.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(frames)
}

/// The order as the API renders it, with the kind of the change that left it so.
#[derive(Serialize)]
struct StreamedOrder {
    #[serde(flatten)]
    order: OrderResponse,
    kind: Option<&'static str>,
}

/// `id: <version>`, `event: order`, `data: <the order's JSON on one line>`.
fn order_event(order: Order, kind: Option<EventKind>) -> Bytes {
    let version = order.version;
    let streamed = StreamedOrder {
        order: OrderResponse::from(order),
        kind: kind.map(EventKind::as_str),
    };
    // JSON of strings and numbers always serialises, and escapes every line break.
    let data = serde_json::to_string(&streamed).unwrap_or_default();
    Bytes::from(format!("id: {version}\nevent: order\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn last_event_id_is_a_version_or_nothing() {
        let req = |v: &str| {
            TestRequest::default()
                .insert_header(("Last-Event-ID", v))
                .to_http_request()
        };
        assert_eq!(
            last_event_id(&TestRequest::default().to_http_request()).ok(),
            Some(None)
        );
        assert_eq!(last_event_id(&req("")).ok(), Some(None));
        assert_eq!(last_event_id(&req("7")).ok(), Some(Some(7)));
        for bad in ["x", "-1", "1.5", "99999999999999999999"] {
            assert!(last_event_id(&req(bad)).is_err(), "{bad:?}");
        }
    }
}
