//! The HTTP adapter: actix-web routes, handlers, DTOs, the bearer-token extractor and the
//! mapping of domain errors to `{"error"}` responses.

mod auth;
mod derived_key;
mod dto;
mod error;
mod events;
mod json_body;
pub mod limits;
mod lists;
mod metrics;
pub mod middleware;
mod openapi;
mod order_json;
mod pages;
mod routes;
mod security_events;

use std::sync::Arc;

use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use trachios_domain::services::{
    AccountService, CatalogService, OrderExportService, OrderService, ReadinessService,
    SessionService, TrackingService, UserAdminService, WebhookService,
};
use utoipa_swagger_ui::{Config, SwaggerUi};

pub use error::{json_error, ApiError};
use limits::{BodyTimeout, ExportSlots, RateLimits, StreamSlots, TrustedProxies};
pub use lists::CursorKey;
pub use metrics::{record_request_metrics, MetricsEndpoint};
pub use order_json::OrderJson;
pub use security_events::SecurityEvents;

/// Request bodies above this many bytes are refused with 413.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What the handlers need, built once by the server.
#[derive(Clone)]
pub struct ApiState {
    pub accounts: AccountService,
    pub sessions: SessionService,
    pub user_admin: UserAdminService,
    pub orders: OrderService,
    pub exports: OrderExportService,
    pub tracking: TrackingService,
    pub webhooks: WebhookService,
    pub catalog: CatalogService,
    /// Signs list cursors; every process sharing a deployment must use the same key.
    pub cursors: CursorKey,
    /// Keys the email hashes of refused logins in the log.
    pub security_events: SecurityEvents,
    pub rate_limits: Arc<RateLimits>,
    pub stream_slots: Arc<StreamSlots>,
    pub export_slots: ExportSlots,
    pub trusted_proxies: TrustedProxies,
    pub body_timeout: BodyTimeout,
    pub readiness: ReadinessService,
    pub metrics: MetricsEndpoint,
}

/// The explorer may only load what this server serves; Swagger UI styles its elements
/// inline and draws icons from `data:` URIs.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Registers every route, the JSON and path error contract, and the shared state.
pub fn configure(state: ApiState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state.accounts))
            .app_data(web::Data::new(state.orders))
            .app_data(web::Data::new(state.exports))
            .app_data(web::Data::new(state.tracking))
            .app_data(web::Data::from(state.stream_slots))
            .app_data(web::Data::new(state.export_slots))
            .app_data(web::Data::new(state.sessions))
            .app_data(web::Data::new(state.user_admin))
            .app_data(web::Data::new(state.webhooks))
            .app_data(web::Data::new(state.catalog))
            .app_data(web::Data::new(state.cursors))
            .app_data(web::Data::new(state.security_events))
            .app_data(web::Data::from(state.rate_limits))
            .app_data(web::Data::new(state.trusted_proxies))
            .app_data(state.body_timeout)
            .app_data(web::PayloadConfig::new(BODY_LIMIT_BYTES))
            .app_data(error::path_config())
            .app_data(web::Data::new(state.readiness))
            .app_data(web::Data::new(state.metrics))
            // The API first: its requests then skip the pages' and probes' patterns.
            .service(web::scope("/api/v1").configure(routes::register))
            .configure(routes::register_root)
            .configure(pages::register)
            .route(
                "/docs",
                web::get().to(|| async {
                    actix_web::HttpResponse::PermanentRedirect()
                        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                        .finish()
                }),
            )
            .service(
                web::scope("/docs")
                    .wrap(DefaultHeaders::new().add((
                        actix_web::http::header::CONTENT_SECURITY_POLICY,
                        DOCS_CONTENT_SECURITY_POLICY,
                    )))
                    .service(
                        SwaggerUi::new("/{_:.*}").config(
                            Config::new(["/api/v1/openapi.json"])
                                .validator_url("none")
                                .try_it_out_enabled(true),
                        ),
                    ),
            )
            .default_service(web::to(error::not_found));
    }
}
