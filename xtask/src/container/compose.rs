//! The Compose stack of `docker/docker-compose.yml`, as the README has a user bring it up:
//! app, PostgreSQL and Redis with a fresh `.env`'s secrets; each container's healthcheck
//! passing, the app's root file system read-only; the README's flow through it; then `down`
//! and `up` again, the data still there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::runtime::Runtime;

use super::flow::Service;
use super::podman::Podman;
use super::random_secret;
use crate::services::wait_until;

/// The first release that reads `--env-file` and expands `${VAR:-}` as Docker Compose does.
const PODMAN_COMPOSE_VERSION: &str = "1.2.0";

/// Not the compose file's own name, so that a user's `trachios` stack is left alone.
const PROJECT: &str = "trachios-check";

/// PostgreSQL initialises its volume, then the app (restarted by its policy until the
/// database answers) migrates and seeds.
const UP_LIMIT: Duration = Duration::from_secs(240);

pub(super) struct Composed {
    pub(super) first_ready: Duration,
    pub(super) again_ready: Duration,
}

pub(super) fn run(podman: &Podman, runtime: &Runtime, work: &Path) -> anyhow::Result<Composed> {
    let environment = Environment::generate()?;
    let env_file = work.join("compose.env");
    std::fs::write(&env_file, environment.file())?;
    let stack = Stack {
        podman,
        program: podman_compose(work)?,
        environment: &environment,
        env_file,
        log: work.join("compose.log"),
    };
    let _ = stack.compose(&["down", "--volumes"]);
    let result = run_with(&stack, runtime);
    if result.is_err() {
        if let Ok(logs) = stack.capture(&["logs", "--tail", "30"]) {
            eprintln!("xtask: the stack's last log lines:\n{logs}");
        }
        eprintln!("xtask: podman-compose's output: {}", stack.log.display());
    }
    if let Err(err) = stack.compose(&["down", "--volumes"]) {
        eprintln!("xtask: removing the stack failed: {err:#}");
    }
    let _ = std::fs::remove_file(&stack.env_file);
    result
}

/// podman-compose from PyPI, in a virtual environment of its own under `work`: Debian's
/// (1.0.3) has no `--env-file` and leaves `${VAR:-}` unexpanded.
fn podman_compose(work: &Path) -> anyhow::Result<PathBuf> {
    let venv = work.join("podman-compose");
    let program = venv.join("bin/podman-compose");
    let installed = Command::new(&program)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(PODMAN_COMPOSE_VERSION));
    if installed {
        return Ok(program);
    }
    eprintln!("xtask: installing podman-compose {PODMAN_COMPOSE_VERSION} from PyPI");
    let created = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .context("running python3 -m venv")?;
    if !created.success() {
        bail!("creating a virtual environment failed ({created})");
    }
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .arg(format!("podman-compose=={PODMAN_COMPOSE_VERSION}"))
        .status()
        .context("running pip")?;
    if !pip.success() {
        bail!("pip install podman-compose failed ({pip})");
    }
    Ok(program)
}

fn run_with(stack: &Stack, runtime: &Runtime) -> anyhow::Result<Composed> {
    let service = Service::at(format!("http://127.0.0.1:{}", stack.environment.app_port))?;
    let admin = (
        "admin@trachios.local",
        stack.environment.admin_password.as_str(),
    );

    let started = Instant::now();
    stack.compose(&["up", "--detach", "--build"])?;
    wait_until("the stack's app", UP_LIMIT, || {
        runtime.block_on(service.ready()).unwrap_or(false)
    })?;
    let first_ready = started.elapsed();
    stack.check_containers()?;
    let walked = runtime
        .block_on(service.walk(admin))
        .context("the README's flow through the Compose stack")?;

    stack.compose(&["down"])?;
    let started = Instant::now();
    stack.compose(&["up", "--detach"])?;
    wait_until("the stack's app after a restart", UP_LIMIT, || {
        runtime.block_on(service.ready()).unwrap_or(false)
    })?;
    let again_ready = started.elapsed();
    runtime
        .block_on(service.find(&walked))
        .context("the orders after `down` and `up`")?;
    Ok(Composed {
        first_ready,
        again_ready,
    })
}

/// What a user puts in `.env`: fresh secrets, and ports of this machine that are free.
struct Environment {
    variables: Vec<(&'static str, String)>,
    app_port: u16,
    admin_password: String,
}

impl Environment {
    /// The variables as a `.env` file.
    fn file(&self) -> String {
        self.variables
            .iter()
            .map(|(key, value)| format!("{key}={value}\n"))
            .collect()
    }

    fn generate() -> anyhow::Result<Self> {
        let app_port = crate::process::free_port()?;
        let admin_password = random_secret()?;
        let variables = vec![
            ("SERVER_PORT", app_port.to_string()),
            (
                "POSTGRES_PUBLISHED_PORT",
                crate::process::free_port()?.to_string(),
            ),
            (
                "REDIS_PUBLISHED_PORT",
                crate::process::free_port()?.to_string(),
            ),
            ("POSTGRES_PASSWORD", random_secret()?),
            ("POSTGRES_SUPERUSER_PASSWORD", random_secret()?),
            ("REDIS_PASSWORD", random_secret()?),
            ("JWT_SECRET", random_secret()?),
            ("METRICS_TOKEN", random_secret()?),
            ("ADMIN_EMAIL", "admin@trachios.local".to_owned()),
            ("ADMIN_PASSWORD", admin_password.clone()),
            ("ORDER_STEP_SECONDS", "1".to_owned()),
        ];
        Ok(Self {
            variables,
            app_port,
            admin_password,
        })
    }
}

struct Stack<'a> {
    podman: &'a Podman,
    /// podman-compose itself.
    program: PathBuf,
    environment: &'a Environment,
    /// The generated `.env`.
    env_file: PathBuf,
    /// podman-compose prints every podman command it runs, the environment included.
    log: std::path::PathBuf,
}

impl Stack<'_> {
    /// podman-compose as the README has a user run Docker Compose, `--env-file` and all, and
    /// with nothing of this process's environment that could fill in the compose file.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let compose_file = super::repository().join("docker/docker-compose.yml");
        let mut cmd = std::process::Command::new(&self.program);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default());
        self.podman.configure(&mut cmd);
        cmd.args(["--no-ansi", "-p", PROJECT, "--env-file"])
            .arg(&self.env_file)
            .arg("-f")
            .arg(compose_file)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    fn compose(&self, args: &[&str]) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let status = self
            .command(args)
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .context("running podman-compose")?;
        if !status.success() {
            bail!(
                "podman-compose {} failed ({status}); see {}",
                args.join(" "),
                self.log.display()
            );
        }
        Ok(())
    }

    fn capture(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command(args).output()?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// The app's root file system is read-only, and each container's healthcheck from the
    /// compose file passes, run as the engine would run it.
    fn check_containers(&self) -> anyhow::Result<()> {
        let names = self.podman.output(&[
            "ps",
            "--filter",
            &format!("label=io.podman.compose.project={PROJECT}"),
            "--format",
            "{{.Names}}",
        ])?;
        let names: Vec<&str> = names.lines().collect();
        if names.len() != 3 {
            bail!("the stack runs {names:?}, not app, postgres and redis");
        }
        let app = self.podman.output(&[
            "ps",
            "--filter",
            &format!("label=io.podman.compose.project={PROJECT}"),
            "--filter",
            "label=com.docker.compose.service=app",
            "--format",
            "{{.Names}}",
        ])?;
        let read_only = self.podman.output(&[
            "inspect",
            "--format",
            "{{.HostConfig.ReadonlyRootfs}}",
            app.trim(),
        ])?;
        if read_only.trim() != "true" {
            bail!("the app's root file system is writable");
        }
        for name in names {
            wait_until(
                &format!("{name}'s healthcheck"),
                Duration::from_secs(30),
                || self.podman.succeeds(&["healthcheck", "run", name]),
            )?;
        }
        Ok(())
    }
}
