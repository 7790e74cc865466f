use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::WebhookService;
use trachios_domain::{Subscription, WebhookId, WebhookUrl};

use crate::auth::Authenticated;
use crate::dto::{CreateWebhookRequest, CreatedWebhookResponse, DeliveryResponse, WebhookResponse};
use crate::json_body::JsonBody;
use crate::lists::{CursorKey, ListKind, ListRequest};
use crate::openapi::{DeliveriesQuery, ErrorBody};
use crate::ApiError;

/// Subscribes a URL to order events (admin). The answer holds the signing secret, once.
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "create_webhook",
    security(("bearer" = [])),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "the endpoint and its signing secret", body = CreatedWebhookResponse),
        (status = 400, description = "a malformed URL, one on a private address, an unknown event type, or too many webhooks", body = ErrorBody),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    webhooks: web::Data<WebhookService>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    webhooks.ensure_may_manage(caller)?;
    let url = WebhookUrl::parse(&body.url)?;
    let subscription = match &body.events {
        None => Subscription::DEFAULT,
        Some(names) => Subscription::parse(names)?,
    };
    let created = webhooks.create(caller, url, subscription).await?;
    // The signing secret, like a token, must not be kept by a cache or the browser's history.
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedWebhookResponse::from(created)))
}

/// Every webhook endpoint, oldest first, without secrets (admin).
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "every endpoint (at most 100)", body = Vec<WebhookResponse>),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    webhooks: web::Data<WebhookService>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let listed = webhooks.list(caller).await?;
    let body: Vec<WebhookResponse> = listed.into_iter().map(WebhookResponse::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Removes an endpoint; its undelivered events are dropped (admin).
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "delete_webhook",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "webhook id")),
    responses(
        (status = 204, description = "the endpoint gets nothing more"),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 404, description = "no such webhook", body = ErrorBody),
    )
)]
pub(crate) async fn delete(
    webhooks: web::Data<WebhookService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    webhooks.ensure_may_manage(caller)?;
    let id = WebhookId::parse(id.into_inner())?;
    webhooks.delete(caller, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The endpoint's delivery attempts, newest first, one page at a time (admin).
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "list_webhook_deliveries",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "webhook id"), DeliveriesQuery),
    responses(
        (status = 200, description = "one page of attempts", body = Vec<DeliveryResponse>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more pages follow"))),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 404, description = "no such webhook", body = ErrorBody),
    )
)]
pub(crate) async fn deliveries(
    webhooks: web::Data<WebhookService>,
    cursors: web::Data<CursorKey>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    webhooks.ensure_may_manage(caller)?;
    let id = WebhookId::parse(id.into_inner())?;
    let list = ListRequest::parse(&req, cursors, ListKind::Deliveries)?;
    let page = webhooks.deliveries(caller, id, list.page).await?;
    Ok(list.respond(&req, page, DeliveryResponse::from))
}
