//! `/metrics`: what the server renders, behind an optional token; and the request metrics.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::HttpRequest;
use metrics::{Counter, Histogram};
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

/// The full pattern of an API resource (`/api/v1/orders/{id}`), kept in the resource's
/// data, so that the request metrics need not match the path against every route again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoutePattern(pub &'static str);

/// One series of the request metrics: method, route and status.
type SeriesKey = (&'static str, &'static str, u16);

thread_local! {
    /// The series' handles, per worker thread: looking a series up in the registry hashes
    /// its labels, and building them allocated, on every request. Bounded by the routes,
    /// methods and statuses the server has.
    static SERIES: RefCell<HashMap<SeriesKey, (Counter, Histogram)>> = RefCell::new(HashMap::new());
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
    let status = response.status().as_u16();
    let (counter, histogram) = match response.request().app_data::<RoutePattern>() {
        Some(&RoutePattern(route)) => SERIES.with_borrow_mut(|series| {
            series
                .entry((method, route, status))
                .or_insert_with(|| series_handles(method, route.into(), status))
                .clone()
        }),
        // Pages, documentation, and paths no route matched: rarer, looked up each time.
        None => {
            let route = response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            series_handles(method, route.into(), status)
        }
    };
    counter.increment(1);
    histogram.record(started.elapsed().as_secs_f64());
    Ok(response)
}

fn series_handles(
    method: &'static str,
    route: Cow<'static, str>,
    status: u16,
) -> (Counter, Histogram) {
    let counter = metrics::counter!(
        "trachios_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.to_string(),
    );
    let histogram = metrics::histogram!("trachios_http_request_duration_seconds", "route" => route);
    (counter, histogram)
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
