//! The transport against a real local HTTP receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::Utc;
use trachios_domain::ports::WebhookTransport;
use trachios_domain::{
    ActorKind, ItemDescription, Order, OrderId, OrderStatus, PendingDelivery, SealedSecret,
    SecretText, UserId, WebhookEvent, WebhookEventType, WebhookId, WebhookUrl,
};
use trachios_webhooks::{sign, HttpTransport, TransportSettings};

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

/// A request's headers and body.
type Request = (Vec<(String, String)>, Vec<u8>);

async fn record(seen: web::Data<Seen>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    seen.0.lock().unwrap().push((headers, body.to_vec()));
    match req.path() {
        "/redirect" => HttpResponse::Found()
            .insert_header(("Location", "/ok"))
            .finish(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            HttpResponse::Ok().finish()
        }
        "/fail" => HttpResponse::InternalServerError().body("nope"),
        _ => HttpResponse::NoContent().finish(),
    }
}

/// A receiver on a free local port; returns its base URL and what it saw.
fn receiver() -> (String, Seen) {
    let seen = Seen::default();
    let data = web::Data::new(seen.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(record))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}"), seen)
}

fn key() -> SecretText {
    SecretText::new("whsec_test")
}

fn delivery(url: &str) -> PendingDelivery {
    let at = Utc::now();
    PendingDelivery {
        delivery_id: 1,
        webhook_id: WebhookId::parse(1).unwrap(),
        url: WebhookUrl::parse(url).unwrap(),
        // Opened by the delivery service before the transport signs.
        secret: SealedSecret::new("sealed"),
        attempt: 1,
        event: WebhookEvent {
            id: "6f1c0e8e-8d0e-4c55-9a53-2f6f0b2f9a11".into(),
            kind: WebhookEventType::OrderCreated,
            created_at: at,
            order: Order {
                id: OrderId::parse(42).unwrap(),
                customer_id: UserId::parse(7).unwrap(),
                item_description: ItemDescription::parse("<b>Desk</b>").unwrap(),
                details: Default::default(),
                status: OrderStatus::Created,
                version: 1,
                next_step_at: None,
                created_at: at,
                updated_at: at,
            },
            from: None,
            to: OrderStatus::Created,
            actor: ActorKind::Customer,
            actor_id: Some(UserId::parse(7).unwrap()),
        },
    }
}

fn transport(allow_private: bool, timeout: Duration) -> HttpTransport {
    HttpTransport::new(
        TransportSettings {
            timeout,
            allow_private,
        },
        std::sync::Arc::new(trachios_http::OrderJson),
    )
    .unwrap()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

#[actix_web::test]
async fn a_delivery_is_a_signed_json_post_with_the_event_id() {
    let (base, seen) = receiver();
    let sent = transport(true, Duration::from_secs(5))
        .send(&delivery(&format!("{base}/in")), &key())
        .await;
    assert_eq!(sent.status_code, Some(204));
    assert!(sent.delivered());
    let seen = seen.0.lock().unwrap();
    let (headers, body) = &seen[0];
    assert_eq!(header(headers, "content-type"), "application/json");
    assert_eq!(
        header(headers, "trachios-event-id"),
        "6f1c0e8e-8d0e-4c55-9a53-2f6f0b2f9a11"
    );
    let signature = header(headers, "trachios-signature");
    let t: i64 = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse().ok())
        .expect("t=<unix seconds>");
    assert!((Utc::now().timestamp() - t).abs() < 10);
    assert_eq!(signature, sign("whsec_test", t, body), "HMAC of t.body");
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["id"], "6f1c0e8e-8d0e-4c55-9a53-2f6f0b2f9a11");
    assert_eq!(json["type"], "order.created");
    assert_eq!(json["data"]["order"]["id"], 42);
    assert_eq!(json["data"]["order"]["item_description"], "<b>Desk</b>");
    assert_eq!(json["data"]["from_status"], serde_json::Value::Null);
    assert_eq!(json["data"]["to_status"], "created");
    assert_eq!(json["data"]["actor"], "customer");
    assert_eq!(json["data"]["actor_id"], 7);
    assert!(
        json["data"]["order"].get("version").is_none(),
        "the API's order shape"
    );
}

#[actix_web::test]
async fn redirects_are_not_followed_and_errors_are_outcomes() {
    let (base, seen) = receiver();
    let transport = transport(true, Duration::from_millis(500));
    let redirected = transport
        .send(&delivery(&format!("{base}/redirect")), &key())
        .await;
    assert_eq!(redirected.status_code, Some(302));
    assert!(!redirected.delivered());
    let failed = transport
        .send(&delivery(&format!("{base}/fail")), &key())
        .await;
    assert_eq!(failed.status_code, Some(500));
    let slow = transport
        .send(&delivery(&format!("{base}/slow")), &key())
        .await;
    assert_eq!(slow.status_code, None);
    assert_eq!(slow.error.as_deref(), Some("no answer within 0.5 s"));
    let paths = seen.0.lock().unwrap().len();
    assert_eq!(paths, 3, "the redirect's target was never asked");

    let closed = transport
        .send(&delivery("http://127.0.0.1:9/closed?token=s3cret"), &key())
        .await;
    let error = closed.error.unwrap_or_default();
    assert_eq!(
        error, "unreachable",
        "a refused port reads like any other failed connection"
    );
    assert!(
        !error.contains("s3cret"),
        "the URL stays out of the log: {error}"
    );
}

#[actix_web::test]
async fn private_destinations_are_refused_at_delivery_unless_allowed() {
    let (base, seen) = receiver();
    let guarded = transport(false, Duration::from_secs(2));
    let literal = guarded.send(&delivery(&format!("{base}/in")), &key()).await;
    assert_eq!(literal.status_code, None);
    assert!(literal
        .error
        .unwrap_or_default()
        .contains("not a public address"));
    let port = base.rsplit(':').next().unwrap();
    let named = guarded
        .send(&delivery(&format!("http://localhost:{port}/in")), &key())
        .await;
    assert_eq!(named.status_code, None);
    assert!(
        named
            .error
            .unwrap_or_default()
            .contains("non-public address"),
        "a name resolving inside is refused too"
    );
    assert!(
        seen.0.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );
}
