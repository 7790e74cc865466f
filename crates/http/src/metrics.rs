//! `/metrics`: what the server renders, behind an optional token; and the request metrics.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

/// Renders the exposition of this process; the server decides what goes in it.
#[derive(Clone)]
pub struct MetricsEndpoint {
    render: Arc<dyn Fn() -> String + Send + Sync>,
    /// SHA-256 of `METRICS_TOKEN`: comparing digests takes the same time however much of a
    /// guess is right, and the token itself is not kept.
    token: Option<[u8; 32]>,
}

impl MetricsEndpoint {
    pub fn new(render: Arc<dyn Fn() -> String + Send + Sync>, token: Option<&str>) -> Self {
        Self {
            render,
            token: token.map(digest),
        }
    }

    pub(crate) fn admits(&self, req: &HttpRequest) -> bool {
        let Some(expected) = self.token else {
            return true;
        };
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|presented| digest(presented.trim()) == expected)
    }

    pub(crate) fn render(&self) -> String {
        (self.render)()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Counts every request by method, route pattern and status, and times it by route. The
/// route is the pattern (`/api/v1/orders/{id}`), or `unmatched`: a raw path would let any
/// client create series without bound.
pub async fn record_request_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    metrics::counter!(
        "trachios_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => response.status().as_str().to_owned(),
    )
    .increment(1);
    metrics::histogram!("trachios_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

/// Methods outside the standard set are one label, for the same reason as `unmatched`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
