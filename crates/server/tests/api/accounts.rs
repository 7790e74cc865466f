use reqwest::{header, Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn registration_creates_a_customer_whatever_role_is_asked_for() {
    let app = spawn_app().await;
    let (status, body) = app
        .call(Method::POST, "/register", None, Some(json!({"name": " John Doe ", "email": "John@Example.com", "password": "secret-123", "role": "admin"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["role"], "customer");
    assert_eq!(body["email"], "john@example.com");
    assert_eq!(body["name"], "John Doe");
    assert!(body["id"].as_i64().unwrap() > 0);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn emails_are_unique_regardless_of_case() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("A", "dup@x.io", "password-1").await.0,
        StatusCode::CREATED
    );
    let (status, body) = app.register("B", "DUP@X.io", "password-2").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "email already registered");
}

#[tokio::test]
async fn racing_registrations_of_one_email_create_exactly_one_account() {
    let app = spawn_app().await;
    let attempts = (0..8).map(|i| {
        let app = &app;
        async move {
            app.register(
                "Racer",
                if i % 2 == 0 { "race@x.io" } else { "RACE@x.io" },
                "password-1",
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn registration_validation_names_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": "  ", "email": "a@x.io", "password": "password-1"}),
            "name",
        ),
        (
            json!({"name": "n".repeat(256), "email": "a@x.io", "password": "password-1"}),
            "name",
        ),
        (
            json!({"name": "A", "email": "not-an-email", "password": "password-1"}),
            "email",
        ),
        (
            json!({"name": "A", "email": format!("{}@x.io", "a".repeat(260)), "password": "password-1"}),
            "email",
        ),
        (
            json!({"name": "A", "email": "a@x.io", "password": "short"}),
            "password",
        ),
        (
            json!({"name": "A", "email": "a@x.io", "password": "p".repeat(129)}),
            "password",
        ),
        (json!({"email": "a@x.io", "password": "password-1"}), "name"),
        (
            json!({"name": "A", "email": 5, "password": "password-1"}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .call(Method::POST, "/register", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            answer["error"].as_str().unwrap().contains(field),
            "{body} -> {answer}"
        );
    }
    // Nothing was half-written: the email is still free.
    assert_eq!(
        app.register("A", "a@x.io", "password-1").await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn login_returns_a_bearer_token_valid_for_72_hours() {
    let app = spawn_app().await;
    let (status, body) = app.register("Jo", "jo@x.io", "password-1").await;
    assert_eq!(status, StatusCode::CREATED, "registration worked: {body}");
    let (status, body) = app.login("JO@x.io", "password-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["user"]["email"], "jo@x.io");
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
    let hours =
        (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((71.9..=72.0).contains(&hours), "{hours}");
    let (status, me) = app
        .call(Method::GET, "/user", body["token"].as_str(), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "jo@x.io");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_fail_alike() {
    let app = spawn_app().await;
    let (status, body) = app.register("Jo", "jo@x.io", "password-1").await;
    assert_eq!(status, StatusCode::CREATED, "registration worked: {body}");
    let wrong = app
        .request(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": "jo@x.io", "password": "password-2"})),
        )
        .await;
    let unknown = app
        .request(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": "ghost@x.io", "password": "password-1"})),
        )
        .await;
    for res in [&wrong, &unknown] {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
}

#[tokio::test]
async fn the_configured_admin_is_seeded_and_can_log_in() {
    let app = spawn_app().await;
    let (status, body) = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["role"], "admin");
}

#[tokio::test]
async fn reseeding_never_overwrites_an_existing_admin_password() {
    let (database_url, _scratch) = fresh_store().await;
    let (first, stop, running) = spawn_stoppable(&database_url).await;
    assert_eq!(
        first.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0,
        StatusCode::OK
    );
    stop_and_wait(stop, running).await;
    // A restart with another ADMIN_PASSWORD, as after editing the configuration.
    let mut settings = settings(&database_url, 3600.0);
    settings.auth.admin_password = Some("a-different-password".into());
    let app = build_when_free(settings).await;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    let app = TestApp::new(base, &database_url);
    assert_eq!(
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.login(ADMIN_EMAIL, "a-different-password").await.0,
        StatusCode::UNAUTHORIZED
    );
}

fn forge(header: jsonwebtoken::Header, claims: serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret).expect("an HMAC key"),
    )
    .expect("a signed token")
}

#[tokio::test]
async fn bad_tokens_are_refused_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let (token, id) = app.customer("jo@x.io").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: Option<i64>| {
        let mut c = json!({"sub": id.to_string(), "role": "admin", "iat": now, "jti": "x"});
        if let Some(exp) = exp {
            c["exp"] = json!(exp);
        }
        c
    };
    let good_payload = token.split('.').nth(1).unwrap().to_owned();
    let tampered = {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = forge(
            jsonwebtoken::Header::default(),
            claims(Some(now + 600)),
            b"x",
        )
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
        parts.join(".")
    };
    let bad = [
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{good_payload}."),
        forge(
            jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
            claims(Some(now + 600)),
            JWT_SECRET.as_bytes(),
        ),
        forge(
            jsonwebtoken::Header::default(),
            claims(Some(now + 600)),
            b"some-other-secret-some-other-secret",
        ),
        forge(
            jsonwebtoken::Header::default(),
            claims(None),
            JWT_SECRET.as_bytes(),
        ),
        forge(
            jsonwebtoken::Header::default(),
            claims(Some(now - 10)),
            JWT_SECRET.as_bytes(),
        ),
        tampered,
        "garbage".to_owned(),
    ];
    for token in bad {
        let res = app.request(Method::GET, "/user", Some(&token), None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token}");
        assert!(res.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["error"].is_string());
    }
    for header_value in ["", "Bearer", "Basic abc", &format!("Token {token}")] {
        let res = app
            .client
            .get(format!("{}/user", app.base))
            .header(header::AUTHORIZATION, header_value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header_value}");
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
    }
    let res = app.request(Method::GET, "/user", None, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()[header::WWW_AUTHENTICATE],
        "Bearer",
        "no credentials: a bare challenge"
    );
    let res = app
        .request(Method::GET, "/user", Some("garbage"), None)
        .await;
    assert_eq!(
        res.headers()[header::WWW_AUTHENTICATE],
        r#"Bearer error="invalid_token""#
    );
}
