use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use trachios_domain::services::OrderService;
use trachios_domain::{
    Creation, DomainError, IdempotencyKey, OrderId, OrderStatus, RequestFingerprint,
};

use crate::auth::Authenticated;
use crate::dto::{CreateOrderRequest, EditOrderRequest, OrderResponse, SetStatusRequest};
use crate::json_body::JsonBody;
use crate::limits::RateLimits;
use crate::lists::{render_json, CursorKey, ListKind, ListRequest};
use crate::openapi::{ErrorBody, IdempotencyKeyHeader, OrderListQuery, OrderSearchQuery};
use crate::ApiError;

/// Places an order for the caller; with `Idempotency-Key`, a repeat creates nothing.
#[utoipa::path(
    post, path = "/api/v1/orders", tag = "orders", operation_id = "create_order",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "the new order (or, replayed, the one the key created)", body = OrderResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is a kept answer"))),
        (status = 409, description = "a request with this key is still being processed", body = ErrorBody),
        (status = 422, description = "this key was used with another body", body = ErrorBody),
        (status = 429, description = "too many orders from this user in a minute (with `Retry-After`), or as many open orders as one may have (without: one must finish first)", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn create(
    orders: web::Data<OrderService>,
    limits: web::Data<RateLimits>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
    JsonBody(body): JsonBody<CreateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    limits.check_order(caller.user_id)?;
    let request = body.parse()?;
    let Some(key) = key else {
        let order = orders.create(caller, request).await?;
        return Ok(HttpResponse::Created().json(OrderResponse::from(order)));
    };
    let fingerprint = fingerprint(&body);
    match orders
        .create_once(caller, request, key, fingerprint)
        .await?
    {
        Creation::Created(order) => Ok(HttpResponse::Created().json(OrderResponse::from(order))),
        Creation::Replayed(order) => Ok(HttpResponse::Created()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(OrderResponse::from(order))),
    }
}

/// The `Idempotency-Key` header, if the request has one.
pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<IdempotencyKey>, DomainError> {
    let mut values = req.headers().get_all("idempotency-key");
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(DomainError::Validation(
            "Idempotency-Key must be given once".into(),
        ));
    }
    // A value with bytes outside visible ASCII reads as empty, which `parse` refuses with
    // the message that states the rule.
    IdempotencyKey::parse(value.to_str().unwrap_or_default()).map(Some)
}

/// What the request asks for, as the key's first use is compared with its repeats: the
/// fields that mean something, not the bytes (whitespace or unknown fields differ freely).
fn fingerprint(body: &CreateOrderRequest) -> RequestFingerprint {
    let mut digest = Sha256::new();
    match body {
        // The v1 body digests as it always has, so a key in flight across an upgrade holds.
        CreateOrderRequest {
            item_description: Some(item),
            lines: None,
            shipping_address: None,
            note: None,
        } => {
            digest.update(b"POST /orders\0item_description\0");
            digest.update(item.as_bytes());
        }
        _ => {
            digest.update(b"POST /orders\0v3\0");
            // Serialising strings and numbers cannot fail; the fields in a fixed order.
            let canonical = serde_json::to_vec(&(
                &body.item_description,
                &body.lines,
                &body.shipping_address,
                &body.note,
            ))
            .unwrap_or_default();
            digest.update(&canonical);
        }
    }
    RequestFingerprint(digest.finalize().into())
}

/// One order (its owner or an admin).
#[utoipa::path(
    get, path = "/api/v1/orders/{id}", tag = "orders", operation_id = "get_order",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "order id")),
    responses((status = 200, description = "the order", body = OrderResponse))
)]
pub(crate) async fn get(
    orders: web::Data<OrderService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let order = orders.get(caller, OrderId::parse(id.into_inner())?).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(order.body))
}

/// The caller's orders, newest first, one page at a time.
#[utoipa::path(
    get, path = "/api/v1/my-orders", tag = "orders", operation_id = "list_my_orders",
    security(("bearer" = [])),
    params(OrderListQuery),
    responses((status = 200, description = "one page of orders", body = Vec<OrderResponse>,
        headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more pages follow"))))
)]
pub(crate) async fn list_mine(
    orders: web::Data<OrderService>,
    cursors: web::Data<CursorKey>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let list = ListRequest::parse(&req, cursors, ListKind::Orders)?;
    let filter = list.order_filter(false)?;
    let page = orders
        .list_mine(caller, filter, list.page, |items| {
            render_json(items, OrderResponse::from)
        })
        .await?;
    Ok(list.respond_rendered(&req, page))
}

/// Every order, newest first, one page at a time (admin).
#[utoipa::path(
    get, path = "/api/v1/orders", tag = "orders", operation_id = "list_orders",
    security(("bearer" = [])),
    params(
        OrderListQuery,
        OrderSearchQuery,
        ("customer_id" = Option<i64>, Query, minimum = 1, description = "Only this customer's orders"),
    ),
    responses(
        (status = 200, description = "one page of orders", body = Vec<OrderResponse>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more pages follow"))),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn list_all(
    orders: web::Data<OrderService>,
    cursors: web::Data<CursorKey>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // A customer learns nothing about which parameters would be accepted.
    orders.ensure_may_list_all(caller)?;
    let list = ListRequest::parse(&req, cursors, ListKind::Orders)?;
    let filter = list.order_filter(true)?;
    let page = orders.list_all(caller, filter, list.page).await?;
    Ok(list.respond(&req, page, OrderResponse::from))
}

/// Changes an order's lines, address or note while it is `created` (its owner or an admin).
#[utoipa::path(
    patch, path = "/api/v1/orders/{id}", tag = "orders", operation_id = "edit_order",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "order id")),
    request_body = EditOrderRequest,
    responses(
        (status = 200, description = "the order with its new contents and version", body = OrderResponse),
        (status = 400, description = "a refused field, named in the message (`lines[1]: no such product`), or nothing to change", body = ErrorBody),
        (status = 409, description = "the order has left `created` (`order can no longer be changed`), a free-text order asked for lines, or too few units for the new lines; nothing changed", body = ErrorBody),
        (status = 429, description = "too many orders and edits from this user in a minute", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn edit(
    orders: web::Data<OrderService>,
    limits: web::Data<RateLimits>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
    JsonBody(body): JsonBody<EditOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    // Each edit writes a version and an event: edits spend the allowance creations do.
    limits.check_order(caller.user_id)?;
    let id = OrderId::parse(id.into_inner())?;
    let order = orders.edit(caller, id, body.parse()?).await?;
    Ok(HttpResponse::Ok().json(OrderResponse::from(order)))
}

/// Cancels the caller's order unless it is delivered or cancelled already.
#[utoipa::path(
    put, path = "/api/v1/orders/{id}/cancel", tag = "orders", operation_id = "cancel_order",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "order id")),
    responses(
        (status = 200, description = "the cancelled order", body = OrderResponse),
        (status = 400, description = "the order is delivered or cancelled already", body = ErrorBody),
        (status = 403, description = "an admin cancelling someone else's order (admins use the status endpoint)", body = ErrorBody),
    )
)]
pub(crate) async fn cancel(
    orders: web::Data<OrderService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let order = orders
        .cancel(caller, OrderId::parse(id.into_inner())?)
        .await?;
    Ok(HttpResponse::Ok().json(OrderResponse::from(order)))
}

/// Sets any status (admin).
#[utoipa::path(
    put, path = "/api/v1/orders/{id}/status", tag = "orders", operation_id = "set_order_status",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "order id")),
    request_body = SetStatusRequest,
    responses(
        (status = 200, description = "the order as it is now", body = OrderResponse),
        (status = 400, description = "a value outside the five statuses", body = ErrorBody),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn set_status(
    orders: web::Data<OrderService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
    JsonBody(body): JsonBody<SetStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    orders.ensure_may_override(caller)?;
    let id = OrderId::parse(id.into_inner())?;
    let status = OrderStatus::parse(&body.status)?;
    let order = orders.set_status(caller, id, status).await?;
    Ok(HttpResponse::Ok().json(OrderResponse::from(order)))
}
