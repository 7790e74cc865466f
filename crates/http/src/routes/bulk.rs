use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::OrderService;
use trachios_domain::BulkAnswer;

use crate::auth::Authenticated;
use crate::dto::{render_results, BulkOrdersBody, BulkOrdersRequest, BulkResultsResponse};
use crate::json_body::JsonBody;
use crate::limits::RateLimits;
use crate::openapi::{ErrorBody, IdempotencyKeyHeader};
use crate::routes::orders::idempotency_key;
use crate::ApiError;

/// Cancels or sets the status of up to 1,000 orders, each its own change (admin).
#[utoipa::path(
    post, path = "/api/v1/orders/bulk", tag = "orders", operation_id = "bulk_change_orders",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = BulkOrdersBody,
    responses(
        (status = 200, description = "one result per id, in the order of `ids`; a refused order changed nothing", body = BulkResultsResponse,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is a kept answer"))),
        (status = 400, description = "no ids, more than 1,000, an id twice, or an unknown action or status; nothing changed", body = ErrorBody),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 409, description = "a request with this key is still being processed", body = ErrorBody),
        (status = 422, description = "this key was used with another body", body = ErrorBody),
        (status = 429, description = "too many orders, edits and bulk requests from this user in a minute", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn change_in_bulk(
    orders: web::Data<OrderService>,
    limits: web::Data<RateLimits>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
    JsonBody(body): JsonBody<BulkOrdersRequest>,
) -> Result<HttpResponse, ApiError> {
    orders.ensure_may_change_in_bulk(caller)?;
    let key = idempotency_key(&req)?;
    // Up to a thousand changes, four connections for a second: each bulk request spends the
    // allowance a creation or an edit does, so one account cannot keep the pool busy.
    limits.check_order(caller.user_id)?;
    let request = body.parse()?;
    let Some(key) = key else {
        let items = orders.bulk(caller, &request).await?;
        return Ok(answer(render_results(items)?, false));
    };
    match orders
        .bulk_once(caller, &request, key, body.fingerprint(), render_results)
        .await?
    {
        BulkAnswer::Ran(results) => Ok(answer(results, false)),
        BulkAnswer::Replayed(results) => Ok(answer(results, true)),
    }
}

fn answer(results: String, replayed: bool) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.content_type("application/json").body(results)
}
