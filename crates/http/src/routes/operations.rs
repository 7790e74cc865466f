use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use trachios_domain::services::{ReadinessService, ReadyStatus};

use crate::error::json_error;
use crate::metrics::MetricsEndpoint;
use crate::openapi::schemas::ReadyBody;
use crate::openapi::{document_json, ErrorBody};

/// Readiness: whether this process should receive traffic now.
#[utoipa::path(
    get, path = "/api/v1/ready", tag = "operations", operation_id = "ready",
    responses(
        (status = 200, description = "the database answers; send traffic", body = ReadyBody,
            example = json!({"status": "ready", "database": "up", "cache": "up"})),
        (status = 503, description = "the database does not answer, or the process is draining before shutdown",
            body = ReadyBody, headers(("Retry-After" = u32, description = "seconds to wait")),
            example = json!({"status": "draining", "database": "up", "cache": "up",
                "error": "shutting down: send new requests elsewhere"})),
    )
)]
pub(crate) async fn ready(readiness: web::Data<ReadinessService>) -> HttpResponse {
    let report = readiness.check().await;
    let body = ReadyBody {
        status: report.status.as_str(),
        database: if report.database_up { "up" } else { "down" },
        cache: report.cache.as_str(),
        error: match report.status {
            ReadyStatus::Ready => None,
            ReadyStatus::Draining => Some("shutting down: send new requests elsewhere"),
            ReadyStatus::Unavailable => Some("the database does not answer"),
        },
    };
    match report.status {
        ReadyStatus::Ready => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body),
        ReadyStatus::Draining | ReadyStatus::Unavailable => HttpResponse::ServiceUnavailable()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::RETRY_AFTER, "1"))
            .json(body),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "the metrics of this process", content_type = "text/plain; version=0.0.4",
            body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not carry it",
            body = ErrorBody, headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
    )
)]
pub(crate) async fn metrics(metrics: web::Data<MetricsEndpoint>, req: HttpRequest) -> HttpResponse {
    if !metrics.admits(&req) {
        let mut response = json_error(
            StatusCode::UNAUTHORIZED,
            "metrics require the metrics token",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

/// This document.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "operations", operation_id = "openapi",
    responses((status = 200, description = "the OpenAPI 3.1 document of this API", body = Object))
)]
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}
