pub(crate) mod accounts;
pub(crate) mod bulk;
pub(crate) mod export;
pub(crate) mod health;
pub(crate) mod operations;
pub(crate) mod orders;
pub(crate) mod products;
pub(crate) mod tracking;
pub(crate) mod webhooks;

use actix_web::http::{header, StatusCode};
use actix_web::web;

use crate::error::json_error;
use crate::metrics::RoutePattern;

/// Declares a set of routes once: `$register` wires them, and `$table` lists them for the
/// test that holds the OpenAPI document to what the server answers.
macro_rules! routes {
    ($table:ident, $register:ident, $prefix:literal: $($path:literal => { $($method:ident: $handler:path),+ $(,)? }),+ $(,)?) => {
        /// Each path and the methods it answers, in registration order.
        #[cfg(test)]
        pub(crate) const $table: &[(&str, &[&str])] = &[
            $(($path, &[$(routes!(@name $method)),+])),+
        ];

        /// Wires the routes; a known path with another method answers a JSON 405.
        pub(crate) fn $register(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    resource($path, &[$(routes!(@name $method)),+])
                        .app_data(RoutePattern(concat!($prefix, $path)))
                        $(.route(web::$method().to($handler)))+
                );
            )+
        }
    };
    (@name get) => { "GET" };
    (@name post) => { "POST" };
    (@name put) => { "PUT" };
    (@name patch) => { "PATCH" };
    (@name delete) => { "DELETE" };
}

// Under `/api/v1`. A request is matched against each path in turn, so the paths clients
// hit most come first: a cached order read spent 5% of its time in routing when
// `/orders/{id}` came after eleven others.
routes! { API_ROUTES, register, "/api/v1":
    // Before `/orders/{id}`, which would otherwise read `stream` as an id.
    "/orders/stream" => { get: tracking::watch_all },
    "/orders/export.csv" => { get: export::export_csv },
    "/orders/bulk" => { post: bulk::change_in_bulk },
    "/orders/{id}" => { get: orders::get, patch: orders::edit },
    "/my-orders" => { get: orders::list_mine },
    "/orders" => { post: orders::create, get: orders::list_all },
    "/login" => { post: accounts::login },
    "/health" => { get: health::health },
    "/ready" => { get: operations::ready },
    "/openapi.json" => { get: operations::openapi },
    "/register" => { post: accounts::register },
    "/user" => { get: accounts::current_user },
    "/logout" => { post: accounts::logout },
    "/user/password" => { post: accounts::change_password },
    "/users" => { get: accounts::list_users },
    "/users/{id}" => { patch: accounts::update_user },
    "/my-orders/stream" => { get: tracking::watch_mine },
    "/orders/{id}/history" => { get: tracking::history },
    "/orders/{id}/stream" => { get: tracking::watch_order },
    "/orders/{id}/cancel" => { put: orders::cancel },
    "/orders/{id}/status" => { put: orders::set_status },
    "/webhooks" => { post: webhooks::create, get: webhooks::list },
    "/webhooks/{id}" => { delete: webhooks::delete },
    "/webhooks/{id}/deliveries" => { get: webhooks::deliveries },
    "/products" => { get: products::list, post: products::create },
    "/products/{id}" => { get: products::get, patch: products::update },
    "/products/{id}/stock" => { post: products::adjust_stock },
    "/products/{id}/stock-movements" => { get: products::movements },
}

// At the root, for probes and scrapers that expect them there.
routes! { ROOT_ROUTES, register_root, "":
    "/health" => { get: health::health },
    "/ready" => { get: operations::ready },
    "/metrics" => { get: operations::metrics },
}

/// A resource whose other methods answer 405 with the `Allow` header RFC 9110 requires.
fn resource(path: &str, methods: &'static [&'static str]) -> actix_web::Resource {
    let allow = header::HeaderValue::from_str(&methods.join(", "))
        .unwrap_or_else(|_| header::HeaderValue::from_static(""));
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut response = json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            response.headers_mut().insert(header::ALLOW, allow);
            response
        }
    }))
}
