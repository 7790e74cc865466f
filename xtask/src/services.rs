//! `dev` and `test`: find PostgreSQL and Redis, or start private ones from the installed
//! binaries, then run the service or the tests against them.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use trachios_server::config::StoreChoice;
use trachios_server::Settings;
use trachios_test_support::as_postgres_user as as_pg_user;
pub use trachios_test_support::{is_root, postgres_bin as find_postgres_bin};

const PRIVATE_PG_PORT: u16 = 54329;
const PRIVATE_REDIS_PORT: u16 = 63799;

/// A service this command started; stopped when dropped.
struct Private {
    name: &'static str,
    stop: Command,
}

impl Drop for Private {
    fn drop(&mut self) {
        eprintln!("xtask: stopping private {}", self.name);
        let stopped = self
            .stop
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !stopped.is_ok_and(|s| s.success()) {
            eprintln!("xtask: the private {} may still be running", self.name);
        }
    }
}

/// Where the tests and the service find their dependencies.
struct Stack {
    /// A URL on the PostgreSQL server, database `postgres`.
    postgres_server: String,
    redis_url: Option<String>,
    _private: Vec<Private>,
}

fn reachable(host: &str, port: u16) -> bool {
    let Ok(addrs) = (host, port).to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

/// Whether a PostgreSQL server answers at `url` and lets its user in: a server that only
/// accepts the connection (a password asked for, say) is of no use to the tests.
fn postgres_usable(url: &str) -> bool {
    let (host, port) = host_port(url, 5432);
    if !reachable(&host, port) {
        return false;
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    runtime.block_on(async {
        let connect = trachios_postgres::connect(url);
        matches!(
            tokio::time::timeout(Duration::from_secs(5), connect).await,
            Ok(Ok(_))
        )
    })
}

fn private_postgres_url() -> String {
    format!("postgres://postgres@127.0.0.1:{PRIVATE_PG_PORT}/postgres")
}

/// host and port of `scheme://user:pass@host:port/db?...`.
fn host_port(url: &str, default_port: u16) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().unwrap_or(default_port)),
        None => (host_port.to_owned(), default_port),
    }
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("target"))
}

pub(crate) fn wait_until(
    what: &str,
    limit: Duration,
    check: impl Fn() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !check() {
        if Instant::now() > deadline {
            bail!("{what} did not come up within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn start_private_postgres() -> anyhow::Result<Private> {
    let install = "install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to a running server";
    let initdb = find_postgres_bin("initdb").with_context(|| {
        format!("PostgreSQL is not reachable and initdb was not found: {install}")
    })?;
    let pg_ctl =
        find_postgres_bin("pg_ctl").with_context(|| format!("pg_ctl was not found: {install}"))?;
    let data = if is_root() {
        PathBuf::from("/tmp/trachios-xtask-postgres")
    } else {
        target_dir().join("xtask-postgres")
    };
    if !data.join("PG_VERSION").exists() {
        std::fs::create_dir_all(&data)?;
        if is_root() {
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&data)
                .status()?;
        }
        eprintln!(
            "xtask: initialising a private PostgreSQL in {}",
            data.display()
        );
        let ok = as_pg_user(&initdb)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .stdout(Stdio::null())
            .status()?
            .success();
        if !ok {
            bail!("initdb failed for {}", data.display());
        }
    }
    eprintln!("xtask: starting a private PostgreSQL on 127.0.0.1:{PRIVATE_PG_PORT}");
    let ok = as_pg_user(&pg_ctl)
        .arg("-D")
        .arg(&data)
        .args(["-l"])
        .arg(data.join("server.log"))
        .args([
            "-o",
            &format!("-p {PRIVATE_PG_PORT} -c listen_addresses=127.0.0.1 -k /tmp"),
            "-w",
            "start",
        ])
        .stdout(Stdio::null())
        .status()?
        .success();
    if !ok {
        bail!(
            "the private PostgreSQL did not start; see {}",
            data.join("server.log").display()
        );
    }
    let mut stop = as_pg_user(&pg_ctl);
    stop.arg("-D").arg(&data).args(["-m", "fast", "stop"]);
    Ok(Private {
        name: "PostgreSQL",
        stop,
    })
}

fn start_private_redis() -> anyhow::Result<Private> {
    eprintln!("xtask: starting a private Redis on 127.0.0.1:{PRIVATE_REDIS_PORT}");
    let started = Command::new("redis-server")
        .args([
            "--port",
            &PRIVATE_REDIS_PORT.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
        ])
        .stdout(Stdio::null())
        .status();
    match started {
        Ok(status) if status.success() => {}
        _ => bail!("Redis is not reachable and redis-server could not be started: install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL"),
    }
    wait_until("the private Redis", Duration::from_secs(5), || {
        reachable("127.0.0.1", PRIVATE_REDIS_PORT)
    })?;
    let mut stop = Command::new("redis-cli");
    stop.args(["-p", &PRIVATE_REDIS_PORT.to_string(), "shutdown", "nosave"]);
    Ok(Private {
        name: "Redis",
        stop,
    })
}

/// Uses what is running at the configured addresses, else starts private services.
fn bring_up(postgres_url: &str, redis_url: &str, redis_required: bool) -> anyhow::Result<Stack> {
    let mut private = Vec::new();
    let configured = trachios_postgres::with_database(postgres_url, "postgres");
    let postgres_server = if postgres_usable(&configured) {
        configured
    } else if postgres_usable(&private_postgres_url()) {
        private_postgres_url()
    } else {
        let (pg_host, pg_port) = host_port(postgres_url, 5432);
        eprintln!("xtask: no PostgreSQL at {pg_host}:{pg_port} lets its user in");
        private.push(start_private_postgres()?);
        private_postgres_url()
    };

    let (redis_host, redis_port) = host_port(redis_url, 6379);
    let redis_url = if reachable(&redis_host, redis_port) {
        Some(redis_url.to_owned())
    } else if reachable("127.0.0.1", PRIVATE_REDIS_PORT) {
        Some(format!("redis://127.0.0.1:{PRIVATE_REDIS_PORT}/"))
    } else {
        eprintln!("xtask: Redis is not reachable at {redis_host}:{redis_port}");
        match start_private_redis() {
            Ok(p) => {
                private.push(p);
                Some(format!("redis://127.0.0.1:{PRIVATE_REDIS_PORT}/"))
            }
            Err(e) if !redis_required => {
                eprintln!("xtask: {e}; running without the cache");
                None
            }
            Err(e) => return Err(e),
        }
    };
    Ok(Stack {
        postgres_server,
        redis_url,
        _private: private,
    })
}

/// Runs `cmd` to completion. Ctrl-C reaches the child (same process group), which shuts
/// down gracefully; this process outlives it, so the private services it started are
/// stopped afterwards instead of being left behind.
fn run(cmd: Command) -> anyhow::Result<()> {
    let status = run_to_exit(cmd)?;
    if !status.success() {
        bail!("failed ({status})");
    }
    Ok(())
}

fn run_to_exit(mut cmd: Command) -> anyhow::Result<std::process::ExitStatus> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _context = runtime.enter();
    // Registering a handler replaces the default "terminate" action for SIGINT while the
    // child runs; the signal itself is simply never read.
    #[cfg(unix)]
    let _sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    cmd.status().with_context(|| format!("running {cmd:?}"))
}

/// The PostgreSQL server the tests, benchmarks and fuzzing use (database `postgres`).
pub fn test_postgres_server() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The Redis the tests, benchmarks and fuzzing use.
pub fn test_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

pub fn test(args: &[String]) -> anyhow::Result<()> {
    let install = args.iter().any(|a| a == "--install");
    let extra: Vec<String> = args.iter().filter(|a| *a != "--install").cloned().collect();
    test_with(&extra, install, None)
}

/// `cargo xtask screenshots`: the page tests, saving their screenshots for the docs.
pub fn screenshots() -> anyhow::Result<()> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/http/screenshots");
    let args = ["--test", "api", "pages::"].map(String::from);
    test_with(&args, false, Some(dir))?;
    eprintln!("xtask: screenshots in crates/http/screenshots");
    Ok(())
}

/// Where the end-to-end tests write each test they skip, with its reason.
fn skip_log() -> PathBuf {
    target_dir().join("xtask-skipped-tests.txt")
}

fn test_with(extra: &[String], install: bool, screenshot_dir: Option<&str>) -> anyhow::Result<()> {
    let postgres = test_postgres_server();
    let redis = test_redis_url();
    let everything = extra.is_empty();
    let postgres_server_needed =
        !postgres_usable(&postgres) && !postgres_usable(&private_postgres_url());
    crate::requirements::ensure(
        crate::requirements::InstallPolicy::for_this_user(install),
        postgres_server_needed,
        everything,
    )?;
    let stack = bring_up(&postgres, &redis, true)?;
    let skips = skip_log();
    if let Some(dir) = skips.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&skips, "")?;
    let cargo_test = |args: &[&str]| {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.arg("test")
            .args(args)
            .env("TEST_DATABASE_URL", &stack.postgres_server)
            .env("TEST_SKIP_LOG", &skips);
        if let Some(redis) = &stack.redis_url {
            cmd.env("TEST_REDIS_URL", redis);
        }
        if let Some(dir) = screenshot_dir {
            cmd.env("SCREENSHOT_DIR", dir);
        }
        cmd
    };
    let store = std::env::var("TEST_STORE").unwrap_or_else(|_| "postgres".into());
    let mut first = cargo_test(&["--workspace"]);
    first.args(extra).env("TEST_STORE", &store);
    run(first)?;
    if everything {
        // The end-to-end suite again, on the embedded store; the adapters' contract suite
        // already ran on both in the first pass.
        eprintln!("xtask: the end-to-end suite on the embedded store (TEST_STORE=sqlite)");
        // `--workspace` keeps the features the first run resolved: with `-p` cargo would
        // resolve them for one package and rebuild half the dependency tree.
        let mut embedded = cargo_test(&["--workspace", "--test", "api"]);
        embedded.env("TEST_STORE", "sqlite");
        run(embedded)?;
    }
    if everything {
        eprintln!(
            "xtask: the end-to-end suite and the PostgreSQL adapters over TLS (sslmode=verify-full, rediss://)"
        );
        let tls = crate::tls_pass::TlsStack::start()?;
        let mut over_tls = cargo_test(&["--workspace", "--test", "api", "--test", "adapters"]);
        over_tls
            .env("TEST_STORE", "postgres")
            .env("TEST_DATABASE_URL", &tls.postgres_url)
            .env("TEST_REDIS_URL", &tls.redis_url);
        run(over_tls)?;
    }
    report_skips(&skips)?;
    if everything {
        eprintln!("xtask: fuzzing the API with schemathesis");
        let redis = stack
            .redis_url
            .clone()
            .context("the fuzzing runs with the Redis cache")?;
        tokio::runtime::Runtime::new()?.block_on(crate::fuzz::run_against(
            &stack.postgres_server,
            &redis,
            &[],
        ))?;
    } else {
        eprintln!(
            "xtask: arguments were given, so only `cargo test --workspace {}` ran on {store}: not the end-to-end suite on the other store, not the fuzzing",
            extra.join(" ")
        );
    }
    Ok(())
}

/// Prints the tests that returned without running on this store, and why.
fn report_skips(log: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    if !lines.is_empty() {
        eprintln!(
            "xtask: {} tests were skipped (counted as passed by cargo test):",
            lines.len()
        );
        for line in lines {
            eprintln!("    {line}");
        }
    }
    Ok(())
}

/// `cargo xtask dev`: the service on http://localhost:8080 with the dev profile, on the
/// embedded store unless PostgreSQL is configured.
pub fn dev() -> anyhow::Result<()> {
    let settings = Settings::load().context("reading the configuration")?;
    match settings.store()? {
        StoreChoice::Sqlite(path) => {
            eprintln!(
                "xtask: embedded store {} (set DATABASE_URL=postgres://… or POSTGRES_* for PostgreSQL)",
                path.display()
            );
            serve(&settings, server_command())
        }
        StoreChoice::Postgres(_) => dev_on_postgres(&settings),
    }
}

fn server_command() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["run", "-p", "trachios-server"]);
    cmd
}

/// Runs the server until it exits, seeding the dev admin unless one is configured.
fn serve(settings: &Settings, mut cmd: Command) -> anyhow::Result<()> {
    if settings.auth.admin_email.is_none() {
        eprintln!("xtask: seeding the dev admin admin@trachios.local / admin-password-1 (set ADMIN_EMAIL/ADMIN_PASSWORD to choose)");
        cmd.env("ADMIN_EMAIL", "admin@trachios.local")
            .env("ADMIN_PASSWORD", "admin-password-1");
    }
    // Stopping the server with Ctrl-C is the normal way out of `dev`.
    let status = run_to_exit(cmd)?;
    eprintln!("xtask: the server exited ({status})");
    Ok(())
}

/// PostgreSQL and Redis as configured, or private ones started from the installed binaries.
fn dev_on_postgres(settings: &Settings) -> anyhow::Result<()> {
    let configured_database = settings.database_url()?;
    let configured_database = configured_database.expose_secret();
    let stack = bring_up(
        configured_database,
        settings.redis_url()?.expose_secret(),
        false,
    )?;
    let database_url = if stack
        .postgres_server
        .contains(&format!(":{PRIVATE_PG_PORT}/"))
    {
        trachios_postgres::with_database(&stack.postgres_server, &settings.database.name)
    } else {
        configured_database.to_owned()
    };
    let (_, database) = database_url
        .rsplit_once('/')
        .map(|(a, b)| (a, b.split('?').next().unwrap_or(b)))
        .unwrap_or_default();
    let runtime = tokio::runtime::Runtime::new()?;
    if runtime.block_on(trachios_postgres::create_database_if_missing(
        &database_url,
        database,
    ))? {
        eprintln!("xtask: created database {database}");
    }
    let mut cmd = server_command();
    cmd.env("DATABASE_URL", &database_url);
    match &stack.redis_url {
        Some(url) => cmd.env("REDIS_URL", url),
        None => cmd.env("CACHE_ENABLED", "false"),
    };
    serve(settings, cmd)
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn host_and_port_come_out_of_urls() {
        assert_eq!(
            host_port("postgres://u:p@db:6000/x?y=1", 5432),
            ("db".into(), 6000)
        );
        assert_eq!(
            host_port("postgres://u@localhost/x", 5432),
            ("localhost".into(), 5432)
        );
        assert_eq!(
            host_port("redis://:pw@127.0.0.1:6379/", 6379),
            ("127.0.0.1".into(), 6379)
        );
    }
}
