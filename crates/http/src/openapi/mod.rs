//! The OpenAPI 3.1 document, generated from the handlers' annotations and the DTOs.

mod params;
mod responses;
pub(crate) mod schemas;

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto;
use crate::routes::{
    accounts, bulk, export, health, operations, orders, products, tracking, webhooks,
};

pub(crate) use params::{
    DeliveriesQuery, IdempotencyKeyHeader, LogoutQuery, OrderExportQuery, OrderListQuery,
    OrderSearchQuery, ProductListQuery, UsersQuery,
};
pub(crate) use schemas::ErrorBody;

/// Paths answered both at the root and under `/api/v1`, documented once under `/api/v1`.
const ALSO_AT_ROOT: &[&str] = &["/health", "/ready"];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Trachios",
        description = "Order management: customers place and cancel orders that move by themselves \
            through created → dispatched → in_transit → delivered; admins see every order and \
            override statuses. Every non-2xx answer has the body `{\"error\": \"…\"}`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        health::health,
        operations::ready,
        operations::metrics,
        operations::openapi,
        accounts::register,
        accounts::login,
        accounts::current_user,
        accounts::logout,
        accounts::change_password,
        accounts::list_users,
        accounts::update_user,
        orders::create,
        orders::list_all,
        export::export_csv,
        orders::list_mine,
        orders::get,
        orders::edit,
        orders::cancel,
        orders::set_status,
        bulk::change_in_bulk,
        tracking::history,
        tracking::watch_order,
        tracking::watch_mine,
        tracking::watch_all,
        webhooks::create,
        webhooks::list,
        webhooks::delete,
        webhooks::deliveries,
        products::list,
        products::get,
        products::create,
        products::update,
        products::adjust_stock,
        products::movements,
    ),
    components(schemas(ErrorBody, dto::OrderResponse, dto::UserResponse)),
    modifiers(&Finishing),
    tags(
        (name = "accounts", description = "Registration, login and the caller's account"),
        (name = "users", description = "Account administration (admin)"),
        (name = "orders", description = "Placing, reading, cancelling and overriding orders"),
        (name = "tracking", description = "Order history and live Server-Sent Events streams"),
        (name = "webhooks", description = "Signed order events POSTed to other systems (admin)"),
        (name = "catalog", description = "Products, prices and stock with its ledger"),
        (name = "operations", description = "Probes, metrics and this document"),
    )
)]
struct ApiDoc;

/// The bearer scheme, the common error answers and the root aliases.
struct Finishing;

impl Modify for Finishing {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `token` from `POST /api/v1/login`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`METRICS_TOKEN`, when the server sets one"))
                    .build(),
            ),
        );
        responses::add_common_errors(doc);
        exactly_one_of(
            components_of(doc),
            "CreateOrderRequest",
            ["item_description", "lines"],
        );
        exactly_one_of(
            components_of(doc),
            "OrderLineRequest",
            ["product_id", "sku"],
        );
        for path in ALSO_AT_ROOT {
            let Some(item) = doc.paths.paths.get(&format!("/api/v1{path}")).cloned() else {
                continue;
            };
            let mut item = item;
            if let Some(get) = item.get.as_mut() {
                get.operation_id = get.operation_id.take().map(|id| format!("{id}_at_root"));
            }
            doc.paths.paths.insert((*path).to_owned(), item);
        }
    }
}

fn components_of(doc: &mut utoipa::openapi::OpenApi) -> &mut utoipa::openapi::Components {
    doc.components.get_or_insert_with(Default::default)
}

/// Says that an object has exactly one of two properties, which a derived schema cannot:
/// the object becomes `allOf` itself and a `oneOf` of the two requirements.
fn exactly_one_of(components: &mut utoipa::openapi::Components, name: &str, fields: [&str; 2]) {
    use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder};
    let Some(schema) = components.schemas.remove(name) else {
        return;
    };
    let [first, second] = fields;
    let one_of = OneOfBuilder::new()
        .item(ObjectBuilder::new().required(first))
        .item(ObjectBuilder::new().required(second));
    components.schemas.insert(
        name.to_owned(),
        utoipa::openapi::RefOr::T(utoipa::openapi::Schema::AllOf(
            AllOfBuilder::new().item(schema).item(one_of).build(),
        )),
    );
}

/// The document as JSON, built once.
pub(crate) fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| r#"{"error":"the API document could not be built"}"#.into())
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::document_json;
    use crate::routes::{API_ROUTES, ROOT_ROUTES};

    fn document() -> Value {
        serde_json::from_str(document_json()).expect("the document is JSON")
    }

    #[test]
    fn the_document_has_every_route_the_server_answers_and_no_other() {
        let served: BTreeSet<(String, String)> = API_ROUTES
            .iter()
            .map(|(path, methods)| (format!("/api/v1{path}"), *methods))
            .chain(
                ROOT_ROUTES
                    .iter()
                    .map(|(path, methods)| (path.to_string(), *methods)),
            )
            .flat_map(|(path, methods)| {
                methods
                    .iter()
                    .map(move |m| (path.clone(), m.to_ascii_lowercase()))
            })
            .collect();
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("a path item")
                    .keys()
                    .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                    .map(move |m| (path.clone(), m.clone()))
            })
            .collect();
        assert_eq!(served, documented);
    }

    #[test]
    fn the_documents_enums_are_the_domains_names_in_its_order() {
        use trachios_domain::{ActorKind, EventKind, OrderStatus, Role, WebhookEventType};
        let doc = document();
        let names = |schema: &str| -> Vec<String> {
            doc["components"]["schemas"][schema]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{schema} is an enum of the document"))
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        };
        use trachios_domain::names::of as names_of;
        for (schema, domain) in [
            (
                "OrderStatus",
                names_of(OrderStatus::ALL, OrderStatus::as_str),
            ),
            ("Role", names_of(Role::ALL, Role::as_str)),
            ("Actor", names_of(ActorKind::ALL, ActorKind::as_str)),
            ("EventKind", names_of(EventKind::ALL, EventKind::as_str)),
            (
                "WebhookEventType",
                names_of(WebhookEventType::ALL, WebhookEventType::as_str),
            ),
        ] {
            assert_eq!(names(schema), domain, "{schema}");
        }
    }

    #[test]
    fn every_error_answer_is_documented_with_the_error_body() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                let responses = operation["responses"].as_object().expect("responses");
                assert!(responses.contains_key("500"), "{method} {path} lacks 500");
                for (status, response) in responses {
                    let readiness = path.ends_with("/ready") && status == "503";
                    if status.as_str() >= "400" && !readiness {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {status}"
                        );
                    }
                }
                if operation.get("security").is_some() {
                    assert!(responses.contains_key("401"), "{method} {path} lacks 401");
                }
            }
        }
    }
}
