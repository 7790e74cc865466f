use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::{CatalogService, ProductDraft};
use trachios_domain::{
    Currency, ProductChanges, ProductDescription, ProductId, ProductName, Sku, Stock,
    StockAdjustment,
};

use crate::auth::{Authenticated, MaybeAuthenticated};
use crate::dto::{
    CreateProductRequest, ProductResponse, StockAdjustmentRequest, StockMovementResponse,
    UpdateProductRequest,
};
use crate::json_body::JsonBody;
use crate::lists::{CursorKey, ListKind, ListRequest};
use crate::openapi::{DeliveriesQuery, ErrorBody, ProductListQuery};
use crate::ApiError;

/// Active products, newest first, one page at a time; anyone, no token needed. Admins
/// also list inactive ones (`active=false` or `any`).
#[utoipa::path(
    get, path = "/api/v1/products", tag = "catalog", operation_id = "list_products",
    params(ProductListQuery),
    responses(
        (status = 200, description = "one page of products", body = Vec<ProductResponse>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more pages follow"))),
        (status = 400, description = "a malformed parameter, named", body = ErrorBody),
        (status = 403, description = "`active` other than `true` asked by someone not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    catalog: web::Data<CatalogService>,
    cursors: web::Data<CursorKey>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let list = ListRequest::parse(&req, cursors, ListKind::Products)?;
    let page = catalog
        .list(caller, list.product_filter()?, list.page)
        .await?;
    Ok(list.respond(&req, page, ProductResponse::from))
}

/// One product; an inactive one is 404 except for admins.
#[utoipa::path(
    get, path = "/api/v1/products/{id}", tag = "catalog", operation_id = "get_product",
    params(("id" = i64, Path, minimum = 1, description = "product id")),
    responses(
        (status = 200, description = "the product", body = ProductResponse),
        (status = 404, description = "no such product (or an inactive one)", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    catalog: web::Data<CatalogService>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ProductId::parse(id.into_inner())?;
    let product = catalog.get(caller, id).await?;
    Ok(HttpResponse::Ok().json(ProductResponse::from(product)))
}

/// Adds a product (admin); a stock above zero is its first ledger entry.
#[utoipa::path(
    post, path = "/api/v1/products", tag = "catalog", operation_id = "create_product",
    security(("bearer" = [])),
    request_body = CreateProductRequest,
    responses(
        (status = 201, description = "the product", body = ProductResponse),
        (status = 400, description = "a field breaks its rule, named", body = ErrorBody),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 409, description = "another product has the sku, in any case", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    catalog: web::Data<CatalogService>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateProductRequest>,
) -> Result<HttpResponse, ApiError> {
    catalog.ensure_may_manage(caller)?;
    let draft = ProductDraft {
        sku: Sku::parse(&body.sku)?,
        name: ProductName::parse(&body.name)?,
        description: ProductDescription::parse(body.description.as_deref().unwrap_or_default())?,
        price: body.price,
        currency: body.currency.as_deref().map(Currency::parse).transpose()?,
        stock: Stock::parse(body.stock.unwrap_or(0))?,
    };
    let product = catalog.create(caller, draft).await?;
    Ok(HttpResponse::Created().json(ProductResponse::from(product)))
}

/// Changes a product's name, description, price or whether it is sold (admin); a price
/// change affects only orders placed after it.
#[utoipa::path(
    patch, path = "/api/v1/products/{id}", tag = "catalog", operation_id = "update_product",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "product id")),
    request_body = UpdateProductRequest,
    responses(
        (status = 200, description = "the product as changed", body = ProductResponse),
        (status = 400, description = "a field breaks its rule, named", body = ErrorBody),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 404, description = "no such product", body = ErrorBody),
    )
)]
pub(crate) async fn update(
    catalog: web::Data<CatalogService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
    JsonBody(body): JsonBody<UpdateProductRequest>,
) -> Result<HttpResponse, ApiError> {
    catalog.ensure_may_manage(caller)?;
    let id = ProductId::parse(id.into_inner())?;
    let changes = ProductChanges {
        name: body.name.as_deref().map(ProductName::parse).transpose()?,
        description: body
            .description
            .as_deref()
            .map(ProductDescription::parse)
            .transpose()?,
        price: body.price,
        active: body.active,
    };
    let product = catalog.update(caller, id, changes).await?;
    Ok(HttpResponse::Ok().json(ProductResponse::from(product)))
}

/// Moves a product's stock by hand, with a reason, in its ledger (admin).
#[utoipa::path(
    post, path = "/api/v1/products/{id}/stock", tag = "catalog", operation_id = "adjust_stock",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "product id")),
    request_body = StockAdjustmentRequest,
    responses(
        (status = 200, description = "the product with its new stock", body = ProductResponse),
        (status = 400, description = "a zero or too large delta, or no reason", body = ErrorBody),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 404, description = "no such product", body = ErrorBody),
        (status = 409, description = "fewer units left than the delta takes, or more than 10^9 after it; nothing changed", body = ErrorBody),
    )
)]
pub(crate) async fn adjust_stock(
    catalog: web::Data<CatalogService>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
    JsonBody(body): JsonBody<StockAdjustmentRequest>,
) -> Result<HttpResponse, ApiError> {
    catalog.ensure_may_manage(caller)?;
    let id = ProductId::parse(id.into_inner())?;
    let adjustment = StockAdjustment::parse(body.delta, &body.reason)?;
    let product = catalog.adjust_stock(caller, id, adjustment).await?;
    Ok(HttpResponse::Ok().json(ProductResponse::from(product)))
}

/// The product's stock ledger, newest first, one page at a time (admin).
#[utoipa::path(
    get, path = "/api/v1/products/{id}/stock-movements", tag = "catalog", operation_id = "list_stock_movements",
    security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "product id"), DeliveriesQuery),
    responses(
        (status = 200, description = "one page of movements", body = Vec<StockMovementResponse>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more pages follow"))),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 404, description = "no such product", body = ErrorBody),
    )
)]
pub(crate) async fn movements(
    catalog: web::Data<CatalogService>,
    cursors: web::Data<CursorKey>,
    Authenticated(caller): Authenticated,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    catalog.ensure_may_manage(caller)?;
    let id = ProductId::parse(id.into_inner())?;
    let list = ListRequest::parse(&req, cursors, ListKind::StockMovements)?;
    let page = catalog.movements(caller, id, list.page).await?;
    Ok(list.respond(&req, page, StockMovementResponse::from))
}
