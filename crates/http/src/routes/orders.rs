use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::OrderService;
use trachios_domain::{ItemDescription, OrderId, OrderStatus};

use crate::auth::Authenticated;
use crate::dto::{CreateOrderRequest, OrderResponse, SetStatusRequest};
use crate::json_body::JsonBody;
use crate::limits::RateLimits;
use crate::lists::{CursorKey, ListKind, ListRequest};
use crate::ApiError;

pub(crate) async fn create(
    orders: web::Data<OrderService>,
    limits: web::Data<RateLimits>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    limits.check_order(caller.user_id)?;
    let item = ItemDescription::parse(&body.item_description)?;
    let order = orders.create(caller, item).await?;
    Ok(HttpResponse::Created().json(OrderResponse::from(order)))
}

pub(crate) async fn get(
    orders: web::Data<OrderService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let order = orders.get(caller, OrderId::parse(id.into_inner())?).await?;
    Ok(HttpResponse::Ok().json(OrderResponse::from(order)))
}

pub(crate) async fn list_mine(
    orders: web::Data<OrderService>,
    cursors: web::Data<CursorKey>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let list = ListRequest::parse(&req, cursors, ListKind::Orders)?;
    let filter = list.order_filter(false)?;
    let page = orders.list_mine(caller, filter, list.page).await?;
    Ok(list.respond(&req, page, OrderResponse::from))
}

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
