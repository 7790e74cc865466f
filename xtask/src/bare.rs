//! A bare actix-web server, the reference for what the framework alone costs, measured beside
//! the service: an event stream held open (what one idle stream costs), and one order's JSON
//! served from memory (how fast a request can be answered at all).

use std::convert::Infallible;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};

async fn stream() -> HttpResponse {
    let frames = futures_util::stream::unfold(false, |started| async move {
        if started {
            tokio::time::sleep(Duration::from_secs(15)).await;
        }
        Some((
            Ok::<_, Infallible>(web::Bytes::from_static(b": keep-alive\n\n")),
            true,
        ))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(frames)
}

async fn order(body: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.get_ref().clone())
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Serves on `port` until killed; `order_json` is the body of every `GET /orders/{id}`.
pub fn serve(port: u16, order_json: String) -> anyhow::Result<()> {
    let order_json = web::Data::new(order_json);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(order_json.clone())
                .route("/api/v1/orders/{id}", web::get().to(order))
                .route("/api/v1/health", web::get().to(health))
                .route("/api/v1/my-orders/stream", web::get().to(stream))
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}
