pub(crate) mod accounts;
pub(crate) mod health;
pub(crate) mod orders;
pub(crate) mod tracking;

use actix_web::{web, HttpResponse};

use crate::error::json_error;

/// Every route under `/api/v1`; a known path with the wrong method answers a JSON 405.
pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").route(web::get().to(health::health)))
        .service(resource("/register").route(web::post().to(accounts::register)))
        .service(resource("/login").route(web::post().to(accounts::login)))
        .service(resource("/user").route(web::get().to(accounts::current_user)))
        .service(resource("/logout").route(web::post().to(accounts::logout)))
        .service(resource("/users").route(web::get().to(accounts::list_users)))
        .service(resource("/users/{id}").route(web::patch().to(accounts::update_user)))
        .service(
            resource("/orders")
                .route(web::post().to(orders::create))
                .route(web::get().to(orders::list_all)),
        )
        // Before `/orders/{id}`, which would otherwise read `stream` as an id.
        .service(resource("/orders/stream").route(web::get().to(tracking::watch_all)))
        .service(resource("/my-orders").route(web::get().to(orders::list_mine)))
        .service(resource("/my-orders/stream").route(web::get().to(tracking::watch_mine)))
        .service(resource("/orders/{id}").route(web::get().to(orders::get)))
        .service(resource("/orders/{id}/history").route(web::get().to(tracking::history)))
        .service(resource("/orders/{id}/stream").route(web::get().to(tracking::watch_order)))
        .service(resource("/orders/{id}/cancel").route(web::put().to(orders::cancel)))
        .service(resource("/orders/{id}/status").route(web::put().to(orders::set_status)));
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed() -> HttpResponse {
    json_error(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed",
    )
}
