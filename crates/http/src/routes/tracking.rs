use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::TrackingService;
use trachios_domain::OrderId;

use crate::auth::{Authenticated, AuthenticatedSession};
use crate::dto::OrderEventResponse;
use crate::events::{event_stream, last_event_id};
use crate::limits::StreamSlots;
use crate::ApiError;

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

pub(crate) async fn watch_mine(
    tracking: web::Data<TrackingService>,
    slots: web::Data<StreamSlots>,
    AuthenticatedSession(session): AuthenticatedSession,
) -> Result<HttpResponse, ApiError> {
    let slot = slots.into_inner().take(session.caller.user_id)?;
    Ok(event_stream(tracking.watch_mine(session), slot))
}

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
