use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use trachios_postgres::{build_pool, PoolSettings};
use trachios_server::config::Profile;
use trachios_server::{Application, Settings};

pub use trachios_test_support::{
    fresh_database, init_test_logging, psql, shared_redis_url, ScratchDatabase,
};

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
    s.limits.login_failures_per_account_per_hour = 0;
    s.limits.open_orders_per_user = 0;
    s
}

/// The store the end-to-end tests run on: `TEST_STORE=sqlite` for the embedded one,
/// PostgreSQL otherwise. `cargo xtask test` runs the suite on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStore {
    Postgres,
    Sqlite,
}

pub fn test_store() -> TestStore {
    match std::env::var("TEST_STORE").as_deref() {
        Ok("sqlite") => TestStore::Sqlite,
        Ok("postgres") | Ok("") | Err(_) => TestStore::Postgres,
        Ok(other) => panic!("TEST_STORE={other:?}: use postgres or sqlite"),
    }
}

/// Whether this run's store can show what the test is about. Tests of several processes
/// sharing one database, or of PostgreSQL itself, need PostgreSQL: the embedded store
/// serves one process (its own test shows a second one refused). On the embedded store
/// such a test returns at once, saying why.
pub fn runs_on_this_store(needs_postgres_because: &str) -> bool {
    match test_store() {
        TestStore::Postgres => true,
        TestStore::Sqlite => {
            eprintln!("not run on the embedded store: {needs_postgres_because}");
            record_skip(needs_postgres_because);
            false
        }
    }
}

/// Adds the running test and why it was skipped to `TEST_SKIP_LOG`, which `cargo xtask
/// test` prints after the run: cargo's own summary counts a skipped test as passed.
fn record_skip(reason: &str) {
    use std::io::Write;
    let Ok(path) = std::env::var("TEST_SKIP_LOG") else {
        return;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_owned();
    // One write per line: tests run in parallel, and appends of one write do not interleave.
    let line = format!("{test} (embedded store): {reason}\n");
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = appended {
        eprintln!("could not record the skip in {path}: {e}");
    }
}

/// Two server processes on one fresh database where the store allows it. The embedded
/// store serves one process, so there both are the same process: what a test shows across
/// processes on PostgreSQL it still shows within one on SQLite.
pub struct Processes {
    first: TestApp,
    second: Option<TestApp>,
}

impl Processes {
    pub async fn spawn() -> Self {
        let first = spawn_app().await;
        let second = match test_store() {
            TestStore::Postgres => Some(spawn_on(&first.database_url, 3600.0).await),
            TestStore::Sqlite => None,
        };
        Self { first, second }
    }

    pub fn first(&self) -> &TestApp {
        &self.first
    }

    /// Another process than `first`, or `first` itself on the embedded store.
    pub fn second(&self) -> &TestApp {
        self.second.as_ref().unwrap_or(&self.first)
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    /// Logged in once: the admin's reads would otherwise each pay for a password hash.
    admin_token: tokio::sync::OnceCell<String>,
    /// The embedded store's directory, removed when the test ends.
    _scratch: Option<std::sync::Arc<ScratchDatabase>>,
}

/// Starts the server on a fresh database with a long step (nothing moves by itself).
pub async fn spawn_app() -> TestApp {
    spawn_app_with_step(3600.0).await
}

pub async fn spawn_app_with_step(step_seconds: f64) -> TestApp {
    spawn_configured(step_seconds, |_| {}).await
}

/// Starts the server on a fresh database of this run's store, with the test settings as
/// `configure` changes them.
pub async fn spawn_configured(step_seconds: f64, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let (database_url, scratch) = fresh_store().await;
    let mut settings = settings(&database_url, step_seconds);
    configure(&mut settings);
    let mut app = spawn_with(settings).await;
    app._scratch = scratch;
    app
}

/// A fresh, empty database on this run's store: its URL, and for the embedded store the
/// directory that must outlive the test's servers.
pub async fn fresh_store() -> (String, Option<std::sync::Arc<ScratchDatabase>>) {
    match test_store() {
        TestStore::Postgres => (fresh_database().await, None),
        TestStore::Sqlite => {
            let scratch = ScratchDatabase::new();
            let url = format!("sqlite://{}", scratch.path().display());
            (url, Some(std::sync::Arc::new(scratch)))
        }
    }
}

/// Starts one more server process-equivalent on an existing database.
pub async fn spawn_on(database_url: &str, step_seconds: f64) -> TestApp {
    spawn_with(settings(database_url, step_seconds)).await
}

/// Starts a server with exactly these settings.
pub async fn spawn_with(settings: Settings) -> TestApp {
    let database_url = match settings.store().expect("a store") {
        trachios_server::config::StoreChoice::Postgres(url) => {
            secrecy::ExposeSecret::expose_secret(&url).to_owned()
        }
        trachios_server::config::StoreChoice::Sqlite(path) => {
            format!("sqlite://{}", path.display())
        }
    };
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
            admin_token: tokio::sync::OnceCell::new(),
            _scratch: None,
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

    /// Runs SQL on this server's store behind its back (no cache hears of it), to show
    /// where an answer came from.
    pub async fn sql_behind_the_service(&self, sql: &str) {
        match self.database_url.strip_prefix("sqlite://") {
            Some(path) => trachios_test_support::sqlite_exec(std::path::Path::new(path), sql),
            None => {
                psql(&self.database_url, sql).await;
            }
        }
    }

    /// The one value `sql` (`SELECT … AS value`) reads from this server's store, behind its
    /// back, to show what the store holds.
    pub async fn sql_value_behind_the_service(&self, sql: &str) -> String {
        match self.database_url.strip_prefix("sqlite://") {
            Some(path) => trachios_test_support::sqlite_value(std::path::Path::new(path), sql),
            None => psql(&self.database_url, sql).await,
        }
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

    /// The order's history as an admin reads it from the API, on any store.
    pub async fn history(&self, id: i64) -> Vec<trachios_domain::OrderEvent> {
        let admin = self
            .admin_token
            .get_or_init(|| async { self.admin().await })
            .await;
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/orders/{id}/history"),
                Some(admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let status =
            |v: &Value| trachios_domain::OrderStatus::parse(v.as_str().unwrap_or_default());
        body.as_array()
            .expect("a history")
            .iter()
            .map(|e| trachios_domain::OrderEvent {
                id: e["id"].as_i64().expect("an event id"),
                order_id: trachios_domain::OrderId::parse(id).expect("an order id"),
                kind: trachios_domain::EventKind::parse(e["kind"].as_str().unwrap_or_default())
                    .expect("a kind"),
                from: (!e["from_status"].is_null())
                    .then(|| status(&e["from_status"]).expect("a status")),
                to: status(&e["to_status"]).expect("a status"),
                actor: trachios_domain::ActorKind::parse(e["actor"].as_str().unwrap_or_default())
                    .expect("an actor"),
                actor_id: e["actor_id"]
                    .as_i64()
                    .map(|u| trachios_domain::UserId::parse(u).expect("a user id")),
                at: e["created_at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .expect("a time")
                    .with_timezone(&chrono::Utc),
            })
            .collect()
    }
}

/// A server on `database_url` that stops, releasing its store, when the sender fires.
pub async fn spawn_stoppable(
    database_url: &str,
) -> (
    TestApp,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let app = build_when_free(settings(database_url, 3600.0)).await;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .expect("clean stop");
    });
    (TestApp::new(base, database_url), stop, running)
}

pub async fn stop_and_wait(
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<()>,
) {
    stop.send(()).expect("the server is running");
    running.await.expect("the server task ends");
}

/// Builds a server, waiting while a stopped one on the same embedded store still lets go of
/// its file (its last handles go a moment after it returns).
pub async fn build_when_free(settings: Settings) -> trachios_server::Application {
    let settings = settings.validated().expect("test settings are valid");
    for _ in 0..100 {
        match trachios_server::Application::build(settings.clone()).await {
            Ok(app) => return app,
            Err(err) if format!("{err:#}").contains("in use by another") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("server builds: {err:#}"),
        }
    }
    panic!("the store stayed locked");
}

/// Every order of a database no server uses any more, with its number of events and the
/// status its last event recorded: the audit that every change was written with its event.
pub async fn audit_orders(
    database_url: &str,
) -> Vec<(
    trachios_domain::Order,
    i64,
    Option<trachios_domain::OrderStatus>,
)> {
    use trachios_domain::ports::OrderRepository;

    let Some(path) = database_url.strip_prefix("sqlite://") else {
        let pool = build_pool(database_url, &PoolSettings::default()).expect("pool");
        return trachios_postgres::orders_with_event_counts(&pool)
            .await
            .expect("the audit query");
    };
    // The server's process may still be exiting, and holding the file's lock.
    let mut store = None;
    for _ in 0..100 {
        match trachios_sqlite::SqliteStore::open(trachios_sqlite::SqliteSettings::new(path), None)
            .await
        {
            Ok((opened, _)) => {
                store = Some(opened);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let orders = trachios_sqlite::SqliteOrderRepository::new(store.expect("the file is released"));
    let mut audit = Vec::new();
    let mut before = None;
    loop {
        let page = orders
            .list(&trachios_domain::OrderFilter::default(), before, 500)
            .await
            .expect("a page of orders");
        let Some(last) = page.last().map(|o| o.id.get()) else {
            break;
        };
        for order in page {
            let events = orders.history(order.id).await.expect("a history");
            let last_to = events.last().map(|e| e.to);
            audit.push((order, events.len() as i64, last_to));
        }
        before = Some(last);
    }
    audit.sort_by_key(|(o, _, _)| o.id);
    audit
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
