//! Child processes that xtask starts and stops.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The release server binary as a child process on a free port.
pub struct ReleaseServer {
    child: Child,
    pub base: String,
}

impl ReleaseServer {
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_built(database_url, env, "release").await
    }

    /// The debug build: what the tests build anyway, so nothing more is compiled.
    pub async fn start_debug(database_url: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_built(database_url, env, "debug").await
    }

    async fn start_built(
        database_url: &str,
        env: &[(&str, &str)],
        profile: &str,
    ) -> anyhow::Result<Self> {
        let binary = server_binary(profile)?;
        let port = free_port()?;
        let mut cmd = Command::new(binary);
        cmd.env("APP_ENV", "test")
            .env("DATABASE_URL", database_url)
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .env("RUST_LOG", "warn")
            // Benchmark clients place far more orders than a customer keeps open.
            .env("OPEN_ORDERS_PER_USER", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(cmd, port).await
    }

    /// The bare actix-web server of `bare` (this very binary), as a reference for what the
    /// framework alone costs; it answers `GET /orders/{id}` with `order_json`.
    pub async fn bare_actix(order_json: &str) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["bare-actix", &port.to_string(), order_json]);
        Self::spawn(cmd, port).await
    }

    /// The same bare server, reading the body from Redis under `key` on every request.
    pub async fn bare_actix_redis(redis_url: &str, key: &str) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["bare-actix", &port.to_string(), "", redis_url, key]);
        Self::spawn(cmd, port).await
    }

    /// Starts `cmd`, which serves `/api/v1/health` on `port`, and waits until it answers.
    async fn spawn(mut cmd: Command, port: u16) -> anyhow::Result<Self> {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting a server")?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}/api/v1"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("{}/health", server.base))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("the server did not start");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory the process has had (the kernel's high-water mark).
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.status_kib("VmHWM:")
    }

    /// Starts the high-water mark of `peak_rss_kib` again from what is resident now.
    pub fn reset_peak_rss(&self) -> anyhow::Result<()> {
        // Linux: 5 written to clear_refs resets the process's peak RSS.
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .context("resetting the peak RSS")
    }

    fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("reading {field}"))
    }

    pub fn stop(&mut self) {
        // A server that already exited cannot be killed; reaping it is all that is left.
        if let Err(err) = self.child.kill() {
            eprintln!("xtask: the release server had already exited: {err}");
        }
        if let Err(err) = self.child.wait() {
            eprintln!("xtask: could not reap the release server: {err}");
        }
    }
}

/// The server binary of this cargo profile, built if need be. For the release profile,
/// `BENCH_SERVER_BIN` names a binary built earlier (another commit's, to compare), and
/// `BENCH_PROFILE=profiling` picks the release build with symbols, for `perf`.
fn server_binary(profile: &str) -> anyhow::Result<std::path::PathBuf> {
    if profile == "release" {
        if let Some(binary) = std::env::var_os("BENCH_SERVER_BIN") {
            return Ok(binary.into());
        }
    }
    let profile = match (profile, std::env::var("BENCH_PROFILE")) {
        ("release", Ok(chosen)) if !chosen.is_empty() => chosen,
        _ => profile.to_owned(),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut target = std::path::PathBuf::from(
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()),
    );
    let mut build = Command::new(&cargo);
    build.args(["build", "-q", "-p", "trachios-server"]);
    if profile != "debug" {
        // The server alone unifies its dependencies' features differently from xtask, and
        // cargo names a crate's artifact without its dependencies' features: in one
        // target directory each build would overwrite what the other needs, and every
        // benchmark would rebuild both. The optimised server, built as it ships, gets its
        // own.
        target = target.join("server-alone");
        build
            .args(["--profile", &profile])
            .arg("--target-dir")
            .arg(&target);
    }
    if !build.status()?.success() {
        bail!("building the {profile} server failed");
    }
    Ok(target.join(profile).join("trachios-server"))
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.stop();
    }
}
