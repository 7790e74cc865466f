//! The limits of the contract, each turned on in its own server: a limited request gets
//! 429 with `Retry-After` and has no effect; hashing beyond its queue is a 503; a body that
//! trickles in is a 408.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

async fn app_with(configure: impl FnOnce(&mut trachios_server::Settings)) -> TestApp {
    spawn_configured(3600.0, configure).await
}

/// 429, a whole number of seconds to wait, and the JSON error body.
async fn assert_limited(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: Retry-After is whole seconds"));
    assert!((1..=60).contains(&wait), "{what}: Retry-After {wait}");
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("too many"),
        "{what}: {body}"
    );
}

impl TestApp {
    async fn login_from(
        &self,
        forwarded_for: Option<&str>,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/login", self.base))
            .json(&json!({"email": email, "password": password}));
        if let Some(ip) = forwarded_for {
            req = req.header("x-forwarded-for", ip);
        }
        req.send().await.expect("request sent")
    }
}

#[tokio::test]
async fn login_attempts_are_limited_per_ip_and_email() {
    let app = app_with(|s| {
        s.limits.login_rate_per_minute = 3;
        s.limits.auth_rate_per_minute = 100;
        s.limits.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    app.customer("jo@x.io").await;
    // customer() logged in once already: two more attempts are allowed.
    for _ in 0..2 {
        let res = app.login_from(None, "jo@x.io", "wrong-password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.login_from(None, "JO@x.io", "password-123").await;
    assert_limited(res, "the right password past the limit").await;
    let res = app.login_from(None, "ann@x.io", "password-123").await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "another email from this IP is not limited"
    );
    // Behind a trusted proxy, the owner at another address still gets in.
    let res = app
        .login_from(Some("198.51.100.7"), "jo@x.io", "password-123")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn logins_and_registrations_are_limited_per_ip_and_a_limited_one_creates_nothing() {
    let app = app_with(|s| {
        s.limits.login_rate_per_minute = 100;
        s.limits.auth_rate_per_minute = 3;
    })
    .await;
    let admin = app.admin().await; // the first of three
    let (status, _) = app.register("Jo", "jo@x.io", "password-123").await;
    assert_eq!(status, StatusCode::CREATED);
    let res = app.login_from(None, "jo@x.io", "password-123").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .request(
            Method::POST,
            "/register",
            None,
            Some(json!({"name": "Ann", "email": "ann@x.io", "password": "password-123"})),
        )
        .await;
    assert_limited(res, "a fourth registration").await;
    let (_, users) = app
        .call(Method::GET, "/users?email=ann@x.io", Some(&admin), None)
        .await;
    assert_eq!(users, json!([]), "the limited registration created nothing");
}

#[tokio::test]
async fn orders_are_limited_per_user() {
    let app = app_with(|s| s.limits.order_rate_per_minute = 2).await;
    let (jo, _) = app.customer("jo@x.io").await;
    let (ann, _) = app.customer("ann@x.io").await;
    app.create_order(&jo, "Desk").await;
    app.create_order(&jo, "Lamp").await;
    let res = app
        .request(
            Method::POST,
            "/orders",
            Some(&jo),
            Some(json!({"item_description": "Chair"})),
        )
        .await;
    assert_limited(res, "a third order in a minute").await;
    let (_, mine) = app.call(Method::GET, "/my-orders", Some(&jo), None).await;
    assert_eq!(
        mine.as_array().map(Vec::len),
        Some(2),
        "the limited order was not created"
    );
    // Edits write a version and an event each: they spend the same allowance.
    let desk = &mine[1];
    let res = app
        .request(
            Method::PATCH,
            &format!("/orders/{}", desk["id"]),
            Some(&jo),
            Some(json!({"note": "Fragile"})),
        )
        .await;
    assert_limited(res, "an edit past the allowance").await;
    let (_, unchanged) = app.order(&jo, desk["id"].as_i64().unwrap()).await;
    assert_eq!(&unchanged, desk, "the limited edit changed nothing");
    app.create_order(&ann, "Desk").await;
}

#[tokio::test]
async fn hashing_beyond_its_queue_is_a_503_to_retry_and_nothing_else_fails() {
    let app = app_with(|s| {
        s.limits.hash_concurrency = 1;
        s.limits.hash_queue = 1;
    })
    .await;
    app.customer("jo@x.io").await;
    let logins = (0..24).map(|i| {
        let app = &app;
        async move {
            let password = if i % 2 == 0 {
                "password-123"
            } else {
                "wrong-password"
            };
            let res = app.login_from(None, "jo@x.io", password).await;
            let retry_after = res.headers().contains_key("retry-after");
            (res.status(), retry_after)
        }
    });
    let answers = futures_util::future::join_all(logins).await;
    let saturated = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(
        saturated > 0,
        "one hash at a time and one waiting: {answers:?}"
    );
    for (status, retry_after) in &answers {
        assert!(
            [
                StatusCode::OK,
                StatusCode::UNAUTHORIZED,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "{answers:?}"
        );
        if *status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(retry_after, "a 503 says when to retry");
        }
    }
    // Once the burst is over, hashing has room again.
    let res = app.login_from(None, "jo@x.io", "password-123").await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_body_that_trickles_in_gets_408_and_the_connection_closes() {
    let app = app_with(|s| s.limits.request_body_timeout_seconds = 0.5).await;
    let (token, _) = app.customer("jo@x.io").await;
    let address = app
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/orders HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"item_"
    );
    socket.write_all(head.as_bytes()).await.expect("write");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server closed the connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\""), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let (_, mine) = app
        .call(Method::GET, "/my-orders", Some(&token), None)
        .await;
    assert_eq!(mine, json!([]));
}

#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_64_not_by_each_address() {
    let app = app_with(|s| {
        s.limits.login_rate_per_minute = 10;
        s.limits.auth_rate_per_minute = 100;
        s.limits.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    app.customer("jo@x.io").await;
    for n in 1..=10 {
        let res = app
            .login_from(
                Some(&format!("2001:db8:7:7::{n:x}")),
                "jo@x.io",
                "wrong-password",
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let res = app
        .login_from(Some("2001:db8:7:7:ffff::b"), "jo@x.io", "wrong-password")
        .await;
    assert_limited(res, "the 11th attempt from the same /64").await;
    let res = app
        .login_from(Some("2001:db8:7:8::1"), "jo@x.io", "password-123")
        .await;
    assert_eq!(res.status(), StatusCode::OK, "another /64");
}

#[tokio::test]
async fn failed_logins_for_one_account_are_limited_across_every_address() {
    let app = app_with(|s| {
        s.limits.login_failures_per_account_per_hour = 3;
        s.limits.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    app.customer("jo@x.io").await;
    app.customer("al@x.io").await;
    for n in 1..=3 {
        let res = app
            .login_from(
                Some(&format!("198.51.100.{n}")),
                "jo@x.io",
                "wrong-password",
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "failure {n}");
    }
    // The owner, from an address of their own, with the right password: the account is
    // refused until one failure's allowance comes back (an hour / 3), and no longer.
    let res = app
        .login_from(Some("203.0.113.9"), "jo@x.io", "password-123")
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=1200).contains(&wait), "Retry-After {wait}");
    let res = app
        .login_from(Some("203.0.113.9"), "al@x.io", "password-123")
        .await;
    assert_eq!(res.status(), StatusCode::OK, "another account");
}

#[tokio::test]
async fn a_customer_with_as_many_open_orders_as_allowed_places_no_more_until_one_finishes() {
    let app = app_with(|s| s.limits.open_orders_per_user = 2).await;
    let (jo, _) = app.customer("jo@x.io").await;
    let (ann, _) = app.customer("ann@x.io").await;
    let first = app.create_order(&jo, "Desk").await;
    let keyed = |key: &'static str| {
        app.client
            .post(format!("{}/orders", app.base))
            .bearer_auth(&jo)
            .header("Idempotency-Key", key)
            .json(&json!({"item_description": "Lamp"}))
    };
    let second = keyed("lamp-1").send().await.expect("answered");
    assert_eq!(second.status(), StatusCode::CREATED);
    let second: Value = second.json().await.expect("an order");

    let res = app
        .request(
            Method::POST,
            "/orders",
            Some(&jo),
            Some(json!({"item_description": "Chair"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(
        body["error"],
        "too many open orders: at most 2 may be neither delivered nor cancelled"
    );
    let repeat = keyed("lamp-1").send().await.expect("answered");
    assert_eq!(
        repeat.status(),
        StatusCode::CREATED,
        "a repeat still gets its answer"
    );
    let repeat: Value = repeat.json().await.expect("the same order");
    assert_eq!(repeat["id"], second["id"]);
    app.create_order(&ann, "Desk").await;

    app.cancel(&jo, first["id"].as_i64().expect("an id")).await;
    app.create_order(&jo, "Chair").await;
    let (_, mine) = app.call(Method::GET, "/my-orders", Some(&jo), None).await;
    assert_eq!(
        mine.as_array().map(Vec::len),
        Some(3),
        "nothing refused was stored"
    );
}
