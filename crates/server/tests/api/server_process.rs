//! The real `trachios-server` binary as a child process, for tests of signals, crashes and
//! several processes on one database.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::helpers::JWT_SECRET;

/// The server binary in the test profile, on `database_url`, listening on loopback at `port`
/// (`0`: one it picks).
pub fn binary(database_url: &str, port: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trachios-server"));
    command
        .env("APP_ENV", "test")
        .env(
            "TRACHIOS_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"),
        )
        .env("DATABASE_URL", database_url)
        .env("SERVER_HOST", "127.0.0.1")
        .env("SERVER_PORT", port)
        .env("JWT_SECRET", JWT_SECRET);
    command
}

/// A running server process; killed when dropped. Its log lines are copied into the test's
/// output, so a failing test shows what the server said.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    /// Every line the process has written to stdout so far.
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary on a port it picks itself (no race for a free port) and waits
    /// until it says where it listens.
    pub async fn start(database_url: &str, step_seconds: &str) -> Self {
        Self::on_port(database_url, step_seconds, 0, &[]).await
    }

    /// Like `start`, with more environment variables (`(name, value)`).
    pub async fn start_with(database_url: &str, step_seconds: &str, env: &[(&str, &str)]) -> Self {
        Self::on_port(database_url, step_seconds, 0, env).await
    }

    /// Starts another process on the port an earlier one (`base`) used, so that clients of
    /// the earlier one reach the new one.
    pub async fn start_on(database_url: &str, step_seconds: &str, base: &str) -> Self {
        Self::start_on_with(database_url, step_seconds, base, &[]).await
    }

    /// Like `start_on`, with more environment variables.
    pub async fn start_on_with(
        database_url: &str,
        step_seconds: &str,
        base: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let port = base
            .split(':')
            .nth(2)
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse().ok())
            .expect("a base URL with a port");
        Self::on_port(database_url, step_seconds, port, env).await
    }

    async fn on_port(
        database_url: &str,
        step_seconds: &str,
        port: u16,
        env: &[(&str, &str)],
    ) -> Self {
        let mut child = binary(database_url, &port.to_string())
            .env("ORDER_STEP_SECONDS", step_seconds)
            .env("CACHE_ENABLED", "false")
            // As in the in-process servers: the limits have tests of their own.
            .env("LOGIN_RATE_PER_MINUTE", "0")
            .env("AUTH_RATE_PER_MINUTE", "0")
            .env("ORDER_RATE_PER_MINUTE", "0")
            .env("LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR", "0")
            .env("OPEN_ORDERS_PER_USER", "0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info,actix_server=warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let pid = child.id().unwrap_or_default();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (listening_tx, listening_rx) = oneshot::channel();
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = kept.clone();
        tokio::spawn(async move {
            let mut listening = Some(listening_tx);
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[server {pid}] {line}");
                keep.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line.clone());
                if let Some(port) = listening_port(&line) {
                    if let Some(tx) = listening.take() {
                        // The test may have given up waiting; then nobody needs the port.
                        tx.send(port).ok();
                    }
                }
            }
        });
        let port = tokio::time::timeout(Duration::from_secs(30), listening_rx)
            .await
            .expect("the server says where it listens within 30 s")
            .expect("the server logged its port before its output ended");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}/api/v1"),
            lines: kept,
        }
    }

    /// A counter of this process's `/metrics` (0 when it has not counted yet).
    pub async fn metric(&self, family: &str, labels: &str) -> f64 {
        let text = reqwest::get(self.base.replace("/api/v1", "/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text");
        crate::operations::value(&text, family, labels).unwrap_or(0.0)
    }

    /// The lines the process has logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends a signal (`TERM`, `INT`, …) to the process.
    pub async fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the server is still running");
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("the server can be killed");
    }

    pub async fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .map(|status| status.expect("waiting for the server"))
    }
}

/// The port in the server's `trachios listening` log line (JSON format).
fn listening_port(line: &str) -> Option<u16> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = event.get("fields")?;
    if fields.get("message")?.as_str()? != "trachios listening" {
        return None;
    }
    fields.get("port")?.as_u64()?.try_into().ok()
}
