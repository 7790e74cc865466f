use actix_web::HttpResponse;

/// Liveness: answers without touching any dependency.
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
