//! The image run by itself, as an operator without Compose would run it: on a network with
//! PostgreSQL and Redis, its root file system read-only, every capability dropped. It must
//! refuse the sample secrets, run as its own user, pass its own `HEALTHCHECK`, and serve the
//! README's flow.

use std::time::Duration;

use anyhow::{bail, ensure, Context};
use tokio::runtime::Runtime;

use super::flow::Service;
use super::image::IMAGE;
use super::podman::Podman;
use super::{random_secret, stand_ins};
use crate::services::wait_until;

const NETWORK: &str = "trachios-check";
const POSTGRES: &str = "trachios-check-postgres";
const REDIS: &str = "trachios-check-redis";
const APP: &str = "trachios-check-app";

/// What the run showed, for the summary.
pub(super) struct Ran {
    pub(super) uid: String,
    pub(super) ready_after: Duration,
}

pub(super) fn run(podman: &Podman, runtime: &Runtime) -> anyhow::Result<Ran> {
    clean_up(podman);
    let result = run_in(podman, runtime);
    if result.is_err() {
        for name in [APP, POSTGRES] {
            if let Ok(out) = podman.capture(&["logs", "--tail", "30", name]) {
                eprintln!("xtask: the last lines of {name}:");
                eprintln!("{}", String::from_utf8_lossy(&out.stdout));
                eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
    clean_up(podman);
    result
}

fn clean_up(podman: &Podman) {
    podman.remove_quietly("container", &[APP, POSTGRES, REDIS]);
    podman.remove_quietly("network", &[NETWORK]);
}

fn run_in(podman: &Podman, runtime: &Runtime) -> anyhow::Result<Ran> {
    let secrets = Secrets::generate()?;
    start_postgres_and_redis(podman, &secrets)?;
    refuses_the_sample_secret(podman, &secrets)?;
    serve(podman, runtime, &secrets)
}

/// Fresh secrets for the run.
struct Secrets {
    postgres_password: String,
    redis_password: String,
    jwt_secret: String,
    admin_password: String,
    metrics_token: String,
}

impl Secrets {
    fn generate() -> anyhow::Result<Self> {
        Ok(Self {
            postgres_password: random_secret()?,
            redis_password: random_secret()?,
            jwt_secret: random_secret()?,
            admin_password: random_secret()?,
            metrics_token: random_secret()?,
        })
    }

    /// The service's environment as `--env` arguments, signing tokens with `jwt_secret`.
    fn environment(&self, jwt_secret: &str) -> Vec<String> {
        [
            ("POSTGRES_HOST", POSTGRES),
            ("POSTGRES_USER", "trachios"),
            ("POSTGRES_PASSWORD", &self.postgres_password),
            ("POSTGRES_DB", "trachios"),
            ("REDIS_HOST", REDIS),
            ("REDIS_PASSWORD", &self.redis_password),
            ("JWT_SECRET", jwt_secret),
            ("METRICS_TOKEN", &self.metrics_token),
            ("ADMIN_EMAIL", ADMIN_EMAIL),
            ("ADMIN_PASSWORD", &self.admin_password),
            ("ORDER_STEP_SECONDS", "1"),
        ]
        .into_iter()
        .flat_map(|(key, value)| ["--env".to_owned(), format!("{key}={value}")])
        .collect()
    }
}

const ADMIN_EMAIL: &str = "admin@trachios.local";

/// The stand-ins on the network, PostgreSQL with the service's unprivileged role made by the
/// compose file's init script, Redis with a password.
fn start_postgres_and_redis(podman: &Podman, secrets: &Secrets) -> anyhow::Result<()> {
    let init_script = super::repository().join("docker/postgres/init-app-role.sh");
    podman.output(&["network", "create", NETWORK])?;
    podman.output(&[
        "run",
        "--detach",
        "--name",
        POSTGRES,
        "--network",
        NETWORK,
        "--env",
        &format!("POSTGRES_PASSWORD={}", random_secret()?),
        "--env",
        "POSTGRES_DB=trachios",
        "--env",
        "TRACHIOS_DB_USER=trachios",
        "--env",
        &format!("TRACHIOS_DB_PASSWORD={}", secrets.postgres_password),
        "--volume",
        &format!(
            "{}:/docker-entrypoint-initdb.d/10-app-role.sh:ro",
            init_script.display()
        ),
        stand_ins::POSTGRES,
    ])?;
    podman.output(&[
        "run",
        "--detach",
        "--name",
        REDIS,
        "--network",
        NETWORK,
        "--user",
        "redis",
        stand_ins::REDIS,
        "redis-server",
        "--save",
        "",
        "--requirepass",
        &secrets.redis_password,
    ])?;
    // The role exists once the init scripts ran and the server listens on the network.
    wait_until(
        "PostgreSQL with the service's role",
        Duration::from_secs(120),
        || {
            podman.succeeds(&[
                "exec",
                "--env",
                &format!("PGPASSWORD={}", secrets.postgres_password),
                POSTGRES,
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "trachios",
                "-d",
                "trachios",
                "-c",
                "SELECT 1",
            ])
        },
    )
}

/// With the sample JWT_SECRET of .env.example the image must stop at once, naming the key.
fn refuses_the_sample_secret(podman: &Podman, secrets: &Secrets) -> anyhow::Result<()> {
    let sample = sample_jwt_secret()?;
    // The timeout ends a container that started after all.
    let mut refused = vec!["run", "--rm", "--timeout", "60", "--network", NETWORK];
    let environment = secrets.environment(&sample);
    refused.extend(environment.iter().map(String::as_str));
    refused.push(IMAGE);
    let out = podman.capture(&refused)?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        !out.status.success() && said.contains("JWT_SECRET"),
        "with the sample JWT_SECRET the image did not refuse to start ({}): {said}",
        out.status
    );
    Ok(())
}

/// The service hardened as an operator would run it: ready, healthy by its own check, not
/// root, and serving the README's flow.
fn serve(podman: &Podman, runtime: &Runtime, secrets: &Secrets) -> anyhow::Result<Ran> {
    let port = crate::process::free_port()?;
    let publish = format!("127.0.0.1:{port}:8080");
    let mut app = vec![
        "run",
        "--detach",
        "--name",
        APP,
        "--network",
        NETWORK,
        "--publish",
        &publish,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    ];
    let environment = secrets.environment(&secrets.jwt_secret);
    app.extend(environment.iter().map(String::as_str));
    app.push(IMAGE);
    let started = std::time::Instant::now();
    podman.output(&app)?;
    let service = Service::at(format!("http://127.0.0.1:{port}"))?;
    wait_until("the service's /ready", Duration::from_secs(60), || {
        runtime.block_on(service.ready()).unwrap_or(false)
    })?;
    let ready_after = started.elapsed();
    // The image's own HEALTHCHECK, run as the engine runs it.
    let health = podman.capture(&["healthcheck", "run", APP])?;
    if !health.status.success() {
        bail!(
            "the image's HEALTHCHECK failed: {}{}",
            String::from_utf8_lossy(&health.stdout),
            String::from_utf8_lossy(&health.stderr)
        );
    }
    let uid = process_uid(podman)?;
    ensure!(uid != "0", "the service runs as root");
    runtime
        .block_on(service.walk((ADMIN_EMAIL, &secrets.admin_password)))
        .context("the README's flow through the image")?;
    Ok(Ran { uid, ready_after })
}

/// The real user id of the service's process, read from outside: the image has no `id`.
/// Rootful podman maps no user namespace, so the host sees the container's ids.
fn process_uid(podman: &Podman) -> anyhow::Result<String> {
    let pid = podman.output(&["inspect", "--format", "{{.State.Pid}}", APP])?;
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim()))
        .context("the service's process")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .map(str::to_owned)
        .context("the process's Uid line")
}

/// `JWT_SECRET` as `.env.example` has it.
fn sample_jwt_secret() -> anyhow::Result<String> {
    let example = std::fs::read_to_string(super::repository().join(".env.example"))?;
    example
        .lines()
        .find_map(|line| line.strip_prefix("JWT_SECRET="))
        .map(str::to_owned)
        .context(".env.example has no JWT_SECRET")
}
