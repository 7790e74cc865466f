//! A bare actix-web server, the reference for what the framework alone costs, measured beside
//! the service: an event stream held open (what one idle stream costs), and one order's JSON
//! served from memory (how fast a request can be answered at all), or read from Redis on
//! every request (what the round trip to the cache costs by itself).

use std::convert::Infallible;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;

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

/// The order's JSON as Redis holds it under the key, read through the same client the
/// service uses (one multiplexed connection per worker thread, as the service keeps them).
async fn order_from_redis(redis: web::Data<RedisOrder>) -> HttpResponse {
    let mut connection = redis.connection.clone();
    match connection.get::<_, Vec<u8>>(&redis.key).await {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/json")
            .body(body),
        Err(err) => HttpResponse::ServiceUnavailable().body(err.to_string()),
    }
}

struct RedisOrder {
    connection: MultiplexedConnection,
    key: String,
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Serves on `port` until killed; `order_json` is the body of every `GET /orders/{id}`, or,
/// with `redis` (a URL and a key), the value of that key, read from Redis on every request.
pub fn serve(port: u16, order_json: String, redis: Option<(String, String)>) -> anyhow::Result<()> {
    let order_json = web::Data::new(order_json);
    let client = redis
        .map(|(url, key)| Ok::<_, anyhow::Error>((trachios_redis::client(&url)?, key)))
        .transpose()?;
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let app = App::new()
                .app_data(order_json.clone())
                .route("/api/v1/health", web::get().to(health))
                .route("/api/v1/my-orders/stream", web::get().to(stream));
            match &client {
                None => app.route("/api/v1/orders/{id}", web::get().to(order)),
                Some((client, key)) => {
                    let (client, key) = (client.clone(), key.clone());
                    // The factory runs on each worker's thread: the connection's I/O task
                    // is spawned there, as the service's per-thread connections are.
                    app.data_factory(move || {
                        let (client, key) = (client.clone(), key.clone());
                        async move {
                            let connection = client.get_multiplexed_async_connection().await?;
                            Ok::<_, redis::RedisError>(RedisOrder { connection, key })
                        }
                    })
                    .route("/api/v1/orders/{id}", web::get().to(order_from_redis))
                }
            }
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}
