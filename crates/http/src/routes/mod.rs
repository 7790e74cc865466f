pub(crate) mod accounts;
pub(crate) mod health;
pub(crate) mod operations;
pub(crate) mod orders;
pub(crate) mod tracking;

use actix_web::http::{header, StatusCode};
use actix_web::web;

use crate::error::json_error;

/// Declares every route under `/api/v1` once: `register` wires them, and `API_ROUTES` lists
/// them for the 405 `Allow` header and for the test that holds the OpenAPI document to them.
macro_rules! routes {
    ($($path:literal => { $($method:ident: $handler:path),+ $(,)? }),+ $(,)?) => {
        /// Every path under `/api/v1` and the methods it answers, in registration order.
        #[cfg(test)]
        pub(crate) const API_ROUTES: &[(&str, &[&str])] = &[
            $(($path, &[$(routes!(@name $method)),+])),+
        ];

        /// Every route under `/api/v1`; a known path with another method answers a JSON 405.
        pub(crate) fn register(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    resource($path, &[$(routes!(@name $method)),+])
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

routes! {
    "/health" => { get: health::health },
    "/ready" => { get: operations::ready },
    "/openapi.json" => { get: operations::openapi },
    "/register" => { post: accounts::register },
    "/login" => { post: accounts::login },
    "/user" => { get: accounts::current_user },
    "/logout" => { post: accounts::logout },
    "/users" => { get: accounts::list_users },
    "/users/{id}" => { patch: accounts::update_user },
    "/orders" => { post: orders::create, get: orders::list_all },
    // Before `/orders/{id}`, which would otherwise read `stream` as an id.
    "/orders/stream" => { get: tracking::watch_all },
    "/my-orders" => { get: orders::list_mine },
    "/my-orders/stream" => { get: tracking::watch_mine },
    "/orders/{id}" => { get: orders::get },
    "/orders/{id}/history" => { get: tracking::history },
    "/orders/{id}/stream" => { get: tracking::watch_order },
    "/orders/{id}/cancel" => { put: orders::cancel },
    "/orders/{id}/status" => { put: orders::set_status },
}

/// Paths outside `/api/v1` that `register_root` wires, with the methods they answer.
#[cfg(test)]
pub(crate) const ROOT_ROUTES: &[(&str, &[&str])] = &[
    ("/health", &["GET"]),
    ("/ready", &["GET"]),
    ("/metrics", &["GET"]),
];

/// Registers the paths of `ROOT_ROUTES`.
pub(crate) fn register_root(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health", &["GET"]).route(web::get().to(health::health)))
        .service(resource("/ready", &["GET"]).route(web::get().to(operations::ready)))
        .service(resource("/metrics", &["GET"]).route(web::get().to(operations::metrics)));
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
