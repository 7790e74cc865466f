//! Every endpoint for every kind of caller: nobody, the owner, another customer, an admin;
//! and every answer one of those the OpenAPI document lists for the operation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// One request: the method, the route as the document names it, the path sent, the body,
/// and what [nobody, owner, other customer, admin] get.
struct Row {
    method: Method,
    route: &'static str,
    path: String,
    body: Option<Value>,
    expected: [StatusCode; 4],
}

fn row(
    method: Method,
    route: &'static str,
    path: impl Into<String>,
    body: Option<Value>,
    expected: [StatusCode; 4],
) -> Row {
    Row {
        method,
        route,
        path: path.into(),
        body,
        expected,
    }
}

/// The statuses the document lists for `method` on `route` (a path under `/api/v1`).
fn documented(document: &Value, method: &Method, route: &str) -> Vec<String> {
    let operation = &document["paths"][format!("/api/v1{route}")][method.as_str().to_lowercase()];
    operation["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {route} is not in the document"))
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn every_endpoint_answers_each_kind_of_caller_as_the_contract_and_the_document_say() {
    // The webhook rows point at a local address, as webhook tests do.
    let app = spawn_configured(3600.0, |s| s.webhooks.allow_private = true).await;
    let (owner, _) = app.customer("owner@x.io").await;
    let (other, other_id) = app.customer("other@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&owner, "Desk").await["id"]
        .as_i64()
        .unwrap();
    let hook = json!({"url": "http://127.0.0.1:9/hook"});
    let (created, endpoint) = app
        .call(Method::POST, "/webhooks", Some(&admin), Some(hook.clone()))
        .await;
    assert_eq!(created, StatusCode::CREATED, "{endpoint}");
    let hook_id = endpoint["id"].as_i64().unwrap();
    let (created, product) = app
        .call(
            Method::POST,
            "/products",
            Some(&admin),
            Some(json!({"sku": "AUTH-1", "name": "Matrix", "price": 100})),
        )
        .await;
    assert_eq!(created, StatusCode::CREATED, "{product}");
    let product_id = product["id"].as_i64().unwrap();
    let (_, document) = app.call(Method::GET, "/openapi.json", None, None).await;

    use Method as M;
    use StatusCode as S;
    let unauthorized_forbidden_ok = |ok| [S::UNAUTHORIZED, S::FORBIDDEN, S::FORBIDDEN, ok];
    // Changes that end something come last: the owner's cancel ends the order, the
    // webhook's deletion the endpoint, and logging out every token used here.
    let table = vec![
        row(
            M::GET,
            "/user",
            "/user",
            None,
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        row(
            M::POST,
            "/orders",
            "/orders",
            Some(json!({"item_description": "Lamp"})),
            [S::UNAUTHORIZED, S::CREATED, S::CREATED, S::CREATED],
        ),
        row(
            M::GET,
            "/my-orders",
            "/my-orders",
            None,
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        row(
            M::GET,
            "/orders/{id}",
            format!("/orders/{id}"),
            None,
            [S::UNAUTHORIZED, S::OK, S::NOT_FOUND, S::OK],
        ),
        row(
            M::PATCH,
            "/orders/{id}",
            format!("/orders/{id}"),
            Some(json!({"note": "Fragile"})),
            [S::UNAUTHORIZED, S::OK, S::NOT_FOUND, S::OK],
        ),
        row(
            M::GET,
            "/orders/{id}/history",
            format!("/orders/{id}/history"),
            None,
            [S::UNAUTHORIZED, S::OK, S::NOT_FOUND, S::OK],
        ),
        row(
            M::GET,
            "/orders/{id}/stream",
            format!("/orders/{id}/stream"),
            None,
            [S::UNAUTHORIZED, S::OK, S::NOT_FOUND, S::OK],
        ),
        row(
            M::GET,
            "/my-orders/stream",
            "/my-orders/stream",
            None,
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        row(
            M::GET,
            "/orders/stream",
            "/orders/stream",
            None,
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::GET,
            "/orders",
            "/orders",
            None,
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::GET,
            "/orders/export.csv",
            "/orders/export.csv",
            None,
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::GET,
            "/users",
            "/users",
            None,
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::PATCH,
            "/users/{id}",
            format!("/users/{other_id}"),
            Some(json!({"disabled": false})),
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::PUT,
            "/orders/{id}/status",
            format!("/orders/{id}/status"),
            Some(json!({"status": "dispatched"})),
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::POST,
            "/orders/bulk",
            "/orders/bulk",
            Some(json!({"ids": [id], "action": "set_status", "status": "dispatched"})),
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::POST,
            "/webhooks",
            "/webhooks",
            Some(hook),
            unauthorized_forbidden_ok(S::CREATED),
        ),
        row(
            M::GET,
            "/webhooks",
            "/webhooks",
            None,
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::GET,
            "/webhooks/{id}/deliveries",
            format!("/webhooks/{hook_id}/deliveries"),
            None,
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::DELETE,
            "/webhooks/{id}",
            format!("/webhooks/{hook_id}"),
            None,
            unauthorized_forbidden_ok(S::NO_CONTENT),
        ),
        row(
            M::POST,
            "/products",
            "/products",
            Some(json!({"sku": "AUTH-2", "name": "Matrix two", "price": 100, "stock": 3})),
            unauthorized_forbidden_ok(S::CREATED),
        ),
        row(
            M::PATCH,
            "/products/{id}",
            format!("/products/{product_id}"),
            Some(json!({"price": 120})),
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::POST,
            "/products/{id}/stock",
            format!("/products/{product_id}/stock"),
            Some(json!({"delta": 5, "reason": "counted"})),
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::GET,
            "/products/{id}/stock-movements",
            format!("/products/{product_id}/stock-movements"),
            None,
            unauthorized_forbidden_ok(S::OK),
        ),
        row(
            M::PUT,
            "/orders/{id}/cancel",
            format!("/orders/{id}/cancel"),
            None,
            [S::UNAUTHORIZED, S::OK, S::NOT_FOUND, S::FORBIDDEN],
        ),
        // Everyone may change their own password; the admin here knows another one.
        row(
            M::POST,
            "/user/password",
            "/user/password",
            Some(json!({"current_password": "password-123", "new_password": "password-456"})),
            [
                S::UNAUTHORIZED,
                S::NO_CONTENT,
                S::NO_CONTENT,
                S::UNAUTHORIZED,
            ],
        ),
        row(
            M::POST,
            "/logout",
            "/logout",
            None,
            [S::UNAUTHORIZED, S::NO_CONTENT, S::NO_CONTENT, S::NO_CONTENT],
        ),
    ];
    let operations_taking_a_token = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(path, _)| path.starts_with("/api/v1"))
        .flat_map(|(_, item)| item.as_object().expect("a path item").values())
        .filter(|operation| operation.get("security").is_some())
        .count();
    assert_eq!(
        table.len(),
        operations_taking_a_token,
        "the table has one row per operation that takes a token"
    );
    for Row {
        method,
        route,
        path,
        body,
        expected,
    } in table
    {
        let listed = documented(&document, &method, route);
        let callers = [
            (None, expected[0], "nobody"),
            (Some(&other), expected[2], "other customer"),
            (Some(&admin), expected[3], "admin"),
            (Some(&owner), expected[1], "owner"),
        ];
        for (token, want, who) in callers {
            let response = app
                .request(
                    method.clone(),
                    &path,
                    token.map(String::as_str),
                    body.clone(),
                )
                .await;
            let got = response.status();
            let streaming = response
                .headers()
                .get("content-type")
                .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
            // A stream never ends by itself: its status is the answer; dropping it hangs up.
            let answer = if streaming {
                Value::Null
            } else {
                response.json::<Value>().await.unwrap_or(Value::Null)
            };
            assert_eq!(got, want, "{method} {path} as {who}: {answer}");
            assert!(
                listed.contains(&got.as_u16().to_string()),
                "{method} {route} answered {got} to {who}, which the document does not list ({listed:?})"
            );
            if !got.is_success() {
                assert!(
                    answer["error"].is_string(),
                    "{method} {path} as {who}: {answer}"
                );
            }
        }
    }
}
