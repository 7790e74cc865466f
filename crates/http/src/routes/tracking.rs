use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::TrackingService;
use trachios_domain::OrderId;

use crate::auth::{Authenticated, AuthenticatedSession};
use crate::dto::OrderEventResponse;
use crate::events::{event_stream, last_event_id};
use crate::limits::StreamSlots;
use crate::openapi::ErrorBody;
use crate::ApiError;

/// Every change of the order, oldest first (its owner or an admin).
#[utoipa::path(
    get, path = "/api/v1/orders/{id}/history", tag = "tracking", operation_id = "order_history",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "order id")),
    responses((status = 200, description = "the order's changes", body = Vec<OrderEventResponse>))
)]
pub(crate) async fn history(
    tracking: web::Data<TrackingService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let events = tracking
        .history(caller, OrderId::parse(id.into_inner())?)
        .await?;
    let body: Vec<OrderEventResponse> = events.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Server-Sent Events: the order now, then each change; ends after a terminal status.
#[utoipa::path(
    get, path = "/api/v1/orders/{id}/stream", tag = "tracking", operation_id = "watch_order",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "order id"),
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "the last version received; only newer ones are sent"),
    ),
    responses(
        (status = 200, description = "`event: order`, `id: <version>`, `data: <Order with \"kind\": the change (created, status_changed, edited), null for the first event>` per change; `: keep-alive` comments", content_type = "text/event-stream", body = String),
        (status = 429, description = "too many open streams for this user", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn watch_order(
    tracking: web::Data<TrackingService>,
    slots: web::Data<StreamSlots>,
    AuthenticatedSession(session): AuthenticatedSession,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = OrderId::parse(id.into_inner())?;
    let last_seen = last_event_id(&req)?;
    let slot = slots.into_inner().take(session.caller.user_id)?;
    let watch = tracking.watch_order(session, id, last_seen).await?;
    Ok(event_stream(watch, slot))
}

/// Server-Sent Events: every change of any of the caller's orders, from now on.
#[utoipa::path(
    get, path = "/api/v1/my-orders/stream", tag = "tracking", operation_id = "watch_my_orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`event: order` per change; `: keep-alive` comments; never ends by itself", content_type = "text/event-stream", body = String),
        (status = 429, description = "too many open streams for this user", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn watch_mine(
    tracking: web::Data<TrackingService>,
    slots: web::Data<StreamSlots>,
    AuthenticatedSession(session): AuthenticatedSession,
) -> Result<HttpResponse, ApiError> {
    let slot = slots.into_inner().take(session.caller.user_id)?;
    Ok(event_stream(tracking.watch_mine(session), slot))
}

/// Server-Sent Events: every change of every order, from now on (admin).
#[utoipa::path(
    get, path = "/api/v1/orders/stream", tag = "tracking", operation_id = "watch_all_orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`event: order` per change; `: keep-alive` comments; never ends by itself", content_type = "text/event-stream", body = String),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 429, description = "too many open streams for this user", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn watch_all(
    tracking: web::Data<TrackingService>,
    slots: web::Data<StreamSlots>,
    AuthenticatedSession(session): AuthenticatedSession,
) -> Result<HttpResponse, ApiError> {
    let user = session.caller.user_id;
    let watch = tracking.watch_all(session)?;
    let slot = slots.into_inner().take(user)?;
    Ok(event_stream(watch, slot))
}
