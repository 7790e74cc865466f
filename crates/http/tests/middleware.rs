//! The cross-cutting middleware on a bare actix app.

use actix_web::http::{header, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::{test, web, App, HttpResponse};
use trachios_http::middleware::{catch_panics, json_error_fallback, request_id};

async fn boom() -> HttpResponse {
    panic!("a bug in a handler")
}

async fn plain_text_error() -> HttpResponse {
    HttpResponse::BadGateway().body("upstream exploded: secret detail")
}

#[actix_web::test]
async fn a_panicking_handler_answers_a_json_500_and_the_server_keeps_serving() {
    let app = test::init_service(
        App::new()
            .wrap(json_error_fallback())
            .wrap(from_fn(catch_panics))
            .wrap(from_fn(request_id))
            .route("/boom", web::get().to(boom))
            .route(
                "/ok",
                web::get().to(|| async { HttpResponse::Ok().finish() }),
            ),
    )
    .await;
    // The middleware answers with an error whose response the HTTP dispatcher sends as is.
    let request = test::TestRequest::get()
        .uri("/boom")
        .insert_header(("x-request-id", "trace-the-panic"))
        .to_request();
    let Err(err) = test::try_call_service(&app, request).await else {
        panic!("the panic must become an error response");
    };
    let res = err.error_response();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        res.headers().get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"trace-the-panic"[..]),
        "the 500 of a panic still names the request"
    );
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body, serde_json::json!({"error": "internal server error"}));
    let res = test::call_service(&app, test::TestRequest::get().uri("/ok").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[actix_web::test]
async fn non_json_error_responses_are_rewritten_without_their_detail() {
    let app = test::init_service(
        App::new()
            .wrap(json_error_fallback())
            .route("/bad", web::get().to(plain_text_error)),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/bad").to_request()).await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    let body: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(body, serde_json::json!({"error": "internal server error"}));
}
