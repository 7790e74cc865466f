use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use trachios_postgres::{build_pool, PgPool, PoolSettings};
use trachios_server::config::Profile;
use trachios_server::{Application, Settings};

pub use trachios_test_support::{fresh_database, init_test_logging, psql, shared_redis_url};

pub const ADMIN_EMAIL: &str = "admin@trachios.test";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const JWT_SECRET: &str = "e2e-secret-e2e-secret-e2e-secret-xx";

/// Test-profile settings for a server on a free port, uncached, with the admin seeded.
pub fn settings(database_url: &str, step_seconds: f64) -> Settings {
    init_test_logging();
    let mut s = Settings::default();
    s.app.profile = Profile::Test;
    s.server.host = "127.0.0.1".into();
    s.server.port = 0;
    s.database.url = Some(SecretString::from(database_url));
    s.database.pool_size = 8;
    s.auth.jwt_secret = SecretString::from(JWT_SECRET);
    s.auth.admin_email = Some(ADMIN_EMAIL.into());
    s.auth.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    s.lifecycle.order_step_seconds = step_seconds;
    s.cache.enabled = false;
    s.server.shutdown_drain_seconds = 0.0;
    // Tests log in and create orders far faster than any person; the limits have tests of
    // their own, which turn them on.
    s.limits.login_rate_per_minute = 0;
    s.limits.auth_rate_per_minute = 0;
    s.limits.order_rate_per_minute = 0;
    s
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    pool: PgPool,
}

/// Starts the server on a fresh database with a long step (nothing moves by itself).
pub async fn spawn_app() -> TestApp {
    spawn_app_with_step(3600.0).await
}

pub async fn spawn_app_with_step(step_seconds: f64) -> TestApp {
    let database_url = fresh_database().await;
    spawn_on(&database_url, step_seconds).await
}

/// Starts one more server process-equivalent on an existing database.
pub async fn spawn_on(database_url: &str, step_seconds: f64) -> TestApp {
    spawn_with(settings(database_url, step_seconds)).await
}

/// Starts a server with exactly these settings.
pub async fn spawn_with(settings: Settings) -> TestApp {
    let database_url = settings.database_url().expect("a database URL");
    let database_url = secrecy::ExposeSecret::expose_secret(&database_url).to_owned();
    let settings = settings.validated().expect("test settings are valid");
    let app = Application::build(settings).await.expect("server builds");
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp::new(base, &database_url)
}

impl TestApp {
    pub fn new(base: String, database_url: &str) -> Self {
        TestApp {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            database_url: database_url.to_owned(),
            pool: build_pool(database_url, &PoolSettings::default()).expect("pool"),
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request sent")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let res = self.request(method, path, token, body).await;
        let status = res.status();
        // Some answers (204, a dropped connection's) have no JSON body; tests then see null.
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn register(&self, name: &str, email: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/register",
            None,
            Some(json!({"name": name, "email": email, "password": password})),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Registers a customer and returns (token, user id).
    pub async fn customer(&self, email: &str) -> (String, i64) {
        let (status, user) = self.register("Customer", email, "password-123").await;
        assert_eq!(status, StatusCode::CREATED, "registering {email}: {user}");
        let (status, body) = self.login(email, "password-123").await;
        assert_eq!(status, StatusCode::OK, "logging in as {email}: {body}");
        (
            body["token"].as_str().expect("token").to_owned(),
            user["id"].as_i64().expect("id"),
        )
    }

    pub async fn admin(&self) -> String {
        let (status, body) = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn create_order(&self, token: &str, item: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/orders",
                Some(token),
                Some(json!({"item_description": item})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn order(&self, token: &str, id: i64) -> (StatusCode, Value) {
        self.call(Method::GET, &format!("/orders/{id}"), Some(token), None)
            .await
    }

    /// An admin sets the order's status; the updated order.
    pub async fn set_status(&self, admin: &str, id: i64, status: &str) -> Value {
        let (code, body) = self
            .call(
                Method::PUT,
                &format!("/orders/{id}/status"),
                Some(admin),
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body
    }

    /// The owner cancels the order; the cancelled order.
    pub async fn cancel(&self, token: &str, id: i64) -> Value {
        let (code, body) = self
            .call(
                Method::PUT,
                &format!("/orders/{id}/cancel"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body
    }

    /// A connection pool on the test's database, for looking behind the API.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
