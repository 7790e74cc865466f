use actix_web::{web, HttpResponse};
use trachios_domain::services::OrderService;
use trachios_domain::{ItemDescription, OrderId, OrderStatus};

use crate::auth::Authenticated;
use crate::dto::{self, CreateOrderRequest, OrderResponse, SetStatusRequest};
use crate::json_body::JsonBody;
use crate::ApiError;

pub(crate) async fn create(
    orders: web::Data<OrderService>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
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
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(dto::orders(orders.list_mine(caller).await?)))
}

pub(crate) async fn list_all(
    orders: web::Data<OrderService>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(dto::orders(orders.list_all(caller).await?)))
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
