//! Graceful shutdown of the real binary on SIGTERM.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sigterm_lets_in_flight_requests_and_the_current_batch_finish() {
    let database_url = fresh_database().await;
    let mut server = ServerProcess::start(&database_url, "0.2");
    let app = TestApp::new(server.base.clone(), &database_url);
    let (token, _) = app.customer("jo@x.io").await;
    for n in 0..150 {
        app.create_order(&token, &format!("item {n}")).await;
    }

    // Registrations hash a password each (tens of milliseconds), so these are still in
    // flight when the signal arrives.
    // A client of their own: a request racing the close of an idle keep-alive connection
    // is a client-side retry matter, not what this test is about.
    let late_client = reqwest::Client::new();
    let in_flight: Vec<_> = (0..48)
        .map(|n| {
            let client = late_client.clone();
            let url = format!("{}/register", app.base);
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"name": "Late", "email": format!("late{n}@x.io"), "password": "password-123"}))
                    .send()
                    .await
                    .map(|r| (r.status(), Instant::now()))
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.signal("TERM");
    let signalled = Instant::now();

    // A request the server had started answers; a connection still queued for a worker
    // when the signal came is closed unanswered (actix drops queued connections) and must
    // then not have been applied, so that the client can simply retry it.
    let mut answered_after_signal = 0;
    let mut unanswered = Vec::new();
    for (n, request) in in_flight.into_iter().enumerate() {
        match request.await.unwrap() {
            Ok((status, at)) => {
                assert_eq!(status, StatusCode::CREATED);
                answered_after_signal += usize::from(at > signalled);
            }
            Err(_) => unanswered.push(n),
        }
    }
    assert!(
        answered_after_signal > 0,
        "some requests were still in flight when the signal came"
    );
    assert!(
        unanswered.len() <= 4,
        "only connections still queued may go unanswered: {unanswered:?}"
    );
    let exit = server
        .wait_for_exit(Duration::from_secs(30))
        .expect("the server exits after SIGTERM");
    assert!(exit.success(), "clean exit: {exit:?}");
    assert!(
        app.client
            .get(format!("{}/health", app.base))
            .send()
            .await
            .is_err(),
        "nothing listens any more"
    );

    let again = ServerProcess::start(&database_url, "0.2");
    let retry = TestApp::new(again.base.clone(), &database_url);
    for n in unanswered {
        let (status, body) = retry
            .register("Late", &format!("late{n}@x.io"), "password-123")
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "an unanswered registration was not applied: {body}"
        );
    }
    drop(again);

    // Every step is all-or-nothing: each order has exactly one event per version, and its
    // status is the one its last event recorded.
    let pool = app.pool();
    let rows = trachios_postgres::orders_with_event_counts(pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 150);
    for (order, events, last_to) in rows {
        assert_eq!(
            events, order.version,
            "order {} has one event per change",
            order.id
        );
        assert_eq!(
            Some(order.status),
            last_to,
            "order {} matches its history",
            order.id
        );
    }
}

/// The real server binary, started with the test profile.
pub struct ServerProcess {
    child: std::process::Child,
    pub base: String,
}

impl ServerProcess {
    pub fn start(database_url: &str, step_seconds: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        Self::on_port(database_url, step_seconds, port)
    }

    /// Starts another process on the port an earlier one (`base`) used.
    pub fn start_on(database_url: &str, step_seconds: &str, base: &str) -> Self {
        let port = base
            .split(':')
            .nth(2)
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse().ok())
            .expect("a base URL with a port");
        Self::on_port(database_url, step_seconds, port)
    }

    fn on_port(database_url: &str, step_seconds: &str, port: u16) -> Self {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_trachios-server"))
            .env("APP_ENV", "test")
            .env(
                "TRACHIOS_CONFIG_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"),
            )
            .env("DATABASE_URL", database_url)
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .env("JWT_SECRET", JWT_SECRET)
            .env("ORDER_STEP_SECONDS", step_seconds)
            .env("CACHE_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("server binary starts");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}/api/v1"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
