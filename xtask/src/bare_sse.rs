//! A bare actix-web server whose only handler holds an event stream open: the reference for
//! what one idle stream costs in the framework alone, measured beside the service's own.

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

async fn health() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

pub fn serve(port: u16) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new()
                .route("/api/v1/health", web::get().to(health))
                .route("/api/v1/my-orders/stream", web::get().to(stream))
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}
