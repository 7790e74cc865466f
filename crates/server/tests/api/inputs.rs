//! Text that is no text — NUL, invalid UTF-8, lone surrogates, control characters — sent
//! to every endpoint that takes text: a 400 naming the field, never a 500, nothing written.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn assert_refused_naming(res: reqwest::Response, field: &str, what: &str) {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(field),
        "{what}: {message:?} does not name {field}"
    );
}

/// A raw JSON body, so that bytes no JSON library would write can be sent.
async fn post_raw(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request sent")
}

#[tokio::test]
async fn nul_and_broken_text_in_bodies_are_400s_naming_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, _) = app.customer("jo@x.io").await;
    let order = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    let good = json!({"name": "Jo", "email": "new@x.io", "password": "password-123"});

    for field in ["name", "email", "password"] {
        let mut body = good.clone();
        body[field] = json!(format!("{}\u{0}x", body[field].as_str().unwrap()));
        let res = app
            .request(Method::POST, "/register", None, Some(body))
            .await;
        assert_refused_naming(res, field, &format!("register, NUL in {field}")).await;
    }
    for field in ["email", "password"] {
        let mut body = json!({"email": "jo@x.io", "password": "password-123"});
        body[field] = json!(format!("{}\u{0}", body[field].as_str().unwrap()));
        let res = app.request(Method::POST, "/login", None, Some(body)).await;
        assert_refused_naming(res, field, &format!("login, NUL in {field}")).await;
    }
    for item in ["Desk\u{0}", "\u{0}", "red\u{1b}[31m"] {
        let res = app
            .request(
                Method::POST,
                "/orders",
                Some(&token),
                Some(json!({"item_description": item})),
            )
            .await;
        assert_refused_naming(res, "item_description", &format!("order {item:?}")).await;
    }
    let res = app
        .request(
            Method::PUT,
            &format!("/orders/{order}/status"),
            Some(&admin),
            Some(json!({"status": "created\u{0}"})),
        )
        .await;
    assert_refused_naming(res, "status", "status with NUL").await;
    let (_, jo) = app.call(Method::GET, "/user", Some(&token), None).await;
    let res = app
        .request(
            Method::PATCH,
            &format!("/users/{}", jo["id"]),
            Some(&admin),
            Some(json!({"role": "admin\u{0}"})),
        )
        .await;
    assert_refused_naming(res, "role", "role with NUL").await;

    // Bytes that are not UTF-8, and a lone surrogate, inside a string.
    let res = post_raw(
        &app,
        "/register",
        None,
        b"{\"name\":\"J\xffo\",\"email\":\"b@x.io\",\"password\":\"password-123\"}",
    )
    .await;
    assert_refused_naming(res, "name", "invalid UTF-8 in name").await;
    let res = post_raw(
        &app,
        "/orders",
        Some(&token),
        br#"{"item_description":"\ud800"}"#,
    )
    .await;
    assert_refused_naming(res, "item_description", "lone surrogate").await;

    // Nothing was written: one customer, one order.
    let (_, users) = app
        .call(Method::GET, "/users?role=customer", Some(&admin), None)
        .await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
    let (_, orders) = app
        .call(Method::GET, "/my-orders", Some(&token), None)
        .await;
    assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");
    let (_, fetched) = app.order(&token, order).await;
    assert_eq!(fetched["status"], "created");
}

#[tokio::test]
async fn nul_and_broken_text_in_paths_and_parameters_are_400s_naming_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (path, name) in [
        ("/orders/%00", "id"),
        ("/orders/1%00", "id"),
        ("/orders/%FF/cancel", "id"),
        ("/orders?status=created%00", "status"),
        ("/orders?created_after=%00", "created_after"),
        ("/orders?customer_id=%FF", "customer_id"),
        ("/orders?limit=1%00", "limit"),
        ("/orders?cursor=%00", "cursor"),
        ("/users?email=a%00%40x.io", "email"),
        ("/users?role=%FF", "role"),
    ] {
        let method = if path.ends_with("cancel") {
            Method::PUT
        } else {
            Method::GET
        };
        let res = app.request(method, path, Some(&admin), None).await;
        assert_refused_naming(res, name, path).await;
    }
}
