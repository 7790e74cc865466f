//! A `redis-server` of a test's own, for tests that stop, restart or inspect Redis.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// The Redis every test may share (distinct key prefixes keep tests apart).
pub fn shared_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// A private redis-server on a port of its own, killed when dropped.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts a server on a free port. A port another process grabs between the probe and
    /// the start is noticed (the server that answers is not ours) and another is tried.
    pub async fn start() -> Self {
        for _ in 0..20 {
            let mut redis = Self {
                port: free_port(),
                child: None,
            };
            if redis.try_start().await {
                return redis;
            }
        }
        panic!("could not start a private redis-server on any free port");
    }

    /// Starts the server again on the same port, empty, after `stop`.
    pub async fn restart(&mut self) {
        assert!(
            self.try_start().await,
            "redis-server did not come back on port {}",
            self.port
        );
    }

    /// Kills the server and waits until it is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // An already exited server cannot be killed; waiting on it is enough.
            if let Err(err) = child.kill().await {
                eprintln!(
                    "private redis-server on {} was already gone: {err}",
                    self.port
                );
            }
        }
    }

    /// Runs `redis-cli` against this server and returns its output.
    pub async fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args).await
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    async fn try_start(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        let Some(pid) = child.id() else {
            return false;
        };
        self.child = Some(child);
        for _ in 0..250 {
            if let Some(answering) = self.answering_pid().await {
                if answering == pid {
                    return true;
                }
                // Someone else's server holds the port; ours exits with "address in use".
                self.stop().await;
                return false;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_exited)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop().await;
        false
    }

    /// The pid of the server answering on this port, if any.
    async fn answering_pid(&self) -> Option<u32> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "info", "server"])
            .output()
            .await
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.trim().strip_prefix("process_id:"))
            .and_then(|pid| pid.parse().ok())
    }
}

/// Runs `redis-cli -p PORT ARGS…`, failing the test when it fails.
pub async fn redis_cli(port: u16, args: &[&str]) -> String {
    let port = port.to_string();
    let all: Vec<&str> = ["-p", port.as_str()]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    crate::tools::run_tool("redis-cli", &all).await
}

fn free_port() -> u16 {
    crate::tls_servers::free_port().expect("the loopback interface has a free port")
}
