//! The error contract: every failure is `{"error": …}` JSON with the right status.

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn assert_json_error(res: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    let content_type = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = res.json().await.unwrap();
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {body}"))
        .to_owned();
    for leak in ["diesel", "SQL", "postgres", "panicked", "argon2", "$argon2"] {
        assert!(!message.contains(leak), "{message}");
    }
    message
}

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/health", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn malformed_bodies_are_400_json() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    for raw in [
        "{",
        "not json",
        "[]",
        // serde would read a struct from an array of its fields.
        r#"["Desk"]"#,
        r#"{"item_description": 5}"#,
        "{}",
        r#"{"item_description": null}"#,
    ] {
        let res = app
            .client
            .post(format!("{}/orders", app.base))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_json_error(res, StatusCode::BAD_REQUEST).await;
    }
    let (_, mine) = app
        .call(Method::GET, "/my-orders", Some(&token), None)
        .await;
    assert_eq!(mine, json!([]), "no order was written by a bad request");
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    let (status, _) = app
        .call(
            Method::POST,
            "/orders",
            Some(&token),
            Some(json!({"item_description": "Desk", "colour": "red"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_json() {
    let app = spawn_app().await;
    let res = app.request(Method::GET, "/nowhere", None, None).await;
    assert_json_error(res, StatusCode::NOT_FOUND).await;
    let res = app
        .client
        .get(format!("{}/nowhere", app.base.trim_end_matches("/api/v1")))
        .send()
        .await
        .unwrap();
    assert_json_error(res, StatusCode::NOT_FOUND).await;
    for (method, path, allowed) in [
        (Method::DELETE, "/orders/1", "GET, PATCH"),
        (Method::GET, "/register", "POST"),
        (Method::POST, "/my-orders", "GET"),
        (Method::GET, "/orders/1/cancel", "PUT"),
        (Method::PATCH, "/orders/1/status", "PUT"),
        (Method::DELETE, "/orders", "POST, GET"),
        (Method::POST, "/orders/export.csv", "GET"),
        (Method::GET, "/orders/bulk", "POST"),
        (Method::PUT, "/users/1", "PATCH"),
    ] {
        let res = app.request(method.clone(), path, None, None).await;
        // RFC 9110: a 405 names the methods the resource does answer.
        let allow = res
            .headers()
            .get(header::ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allow.as_deref(), Some(allowed), "{method} {path}");
        assert_json_error(res, StatusCode::METHOD_NOT_ALLOWED).await;
    }
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    let huge = json!({"item_description": "x".repeat(70 * 1024)});
    let res = app
        .request(Method::POST, "/orders", Some(&token), Some(huge))
        .await;
    assert_json_error(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let res = app
        .request(
            Method::POST,
            "/register",
            None,
            Some(
                json!({"name": "x".repeat(70 * 1024), "email": "a@x.io", "password": "password-1"}),
            ),
        )
        .await;
    assert_json_error(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn a_wrong_content_type_is_415_json() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = app
            .client
            .post(format!("{}/orders", app.base))
            .bearer_auth(&token)
            .body(r#"{"item_description":"Desk"}"#);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        assert_json_error(
            req.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    }
}

#[tokio::test]
async fn path_ids_must_be_positive_integers() {
    let app = spawn_app().await;
    let token = app.admin().await;
    for id in ["abc", "0", "-1", "1.5", "99999999999999999999"] {
        let res = app
            .request(Method::GET, &format!("/orders/{id}"), Some(&token), None)
            .await;
        let message = assert_json_error(res, StatusCode::BAD_REQUEST).await;
        assert!(message.contains("id"), "{message}");
        let res = app
            .request(
                Method::PUT,
                &format!("/orders/{id}/cancel"),
                Some(&token),
                None,
            )
            .await;
        assert_json_error(res, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let res = app.request(Method::GET, "/health", None, None).await;
    assert!(!res.headers()["x-request-id"].is_empty());
    let res = app
        .client
        .get(format!("{}/health", app.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn a_database_outage_is_503_and_the_service_recovers() {
    if !runs_on_this_store("stops PostgreSQL's connections to the database") {
        return;
    }
    let database_url = fresh_database().await;
    let app = spawn_on(&database_url, 3600.0).await;
    let (token, _) = app.customer("jo@x.io").await;
    let name = trachios_test_support::database_name(&database_url);
    // Renaming the database away makes every new connection fail, as an outage would.
    let admin_url =
        trachios_postgres::with_database(&trachios_test_support::base_database_url(), "postgres");
    psql(
        &admin_url,
        &format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"),
    )
    .await;
    psql(
        &admin_url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    )
    .await;
    let res = app
        .request(Method::GET, "/my-orders", Some(&token), None)
        .await;
    assert_eq!(
        res.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..]),
        "a 503 says when to retry"
    );
    assert_json_error(res, StatusCode::SERVICE_UNAVAILABLE).await;
    psql(
        &admin_url,
        &format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"),
    )
    .await;
    let recovered = eventually(std::time::Duration::from_secs(10), || async {
        app.request(Method::GET, "/my-orders", Some(&token), None)
            .await
            .status()
            == StatusCode::OK
    })
    .await;
    assert!(
        recovered,
        "the service answers again once PostgreSQL is back"
    );
}
