use actix_web::HttpResponse;

use crate::openapi::schemas::HealthBody;

/// Liveness: answers without touching any dependency.
#[utoipa::path(
    get, path = "/api/v1/health", tag = "operations", operation_id = "health",
    responses((status = 200, description = "the process is alive", body = HealthBody))
)]
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthBody { status: "ok" })
}
