//! The deployment files: Compose always runs prod with a Redis password, the image ships
//! no sample profile, the service works through the unprivileged role that the PostgreSQL
//! init script creates, and the binary's own health probe tells ready from gone — run here
//! against the real server. `cargo xtask container` builds and runs the image itself.

use std::process::Stdio;

use reqwest::StatusCode;
use tokio::process::Command;
use trachios_test_support::base_database_url;

use crate::helpers::*;
use crate::server_process::{self, ServerProcess};

fn repository_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn compose_always_runs_prod_with_an_unprivileged_database_role_and_a_redis_password() {
    let compose = repository_file("docker/docker-compose.yml");
    assert!(
        compose.contains("      APP_ENV: prod\n"),
        "the profile is fixed, not taken from .env"
    );
    assert!(!compose.contains("${APP_ENV"), "no profile override");
    assert!(
        compose.contains("      POSTGRES_USER: trachios\n"),
        "the service's own role"
    );
    assert!(compose.contains("init-app-role.sh:/docker-entrypoint-initdb.d/"));
    assert!(
        compose.contains("requirepass $$REDIS_PASSWORD")
            && compose.contains("      REDIS_PASSWORD: ${REDIS_PASSWORD:?"),
        "Redis demands a password"
    );
    assert!(
        compose.contains("      METRICS_TOKEN: ${METRICS_TOKEN:?"),
        "the prod profile refuses open metrics"
    );
    assert!(
        compose.contains("    user: redis\n"),
        "Redis runs as its own user"
    );
    assert!(
        compose.contains("    read_only: true\n    cap_drop: [ALL]\n"),
        "the app's root file system is read-only and it keeps no capability"
    );
    let dockerfile = repository_file("docker/Dockerfile");
    assert!(dockerfile.contains("COPY config/default.toml config/prod.toml /app/config/"));
    // The dependency layer builds from the manifests alone: cargo refuses to load the
    // workspace if any crate's manifest is missing there.
    let crates = std::fs::read_dir(format!("{}/..", env!("CARGO_MANIFEST_DIR")))
        .expect("the crates directory")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned());
    let stubbed = dockerfile
        .lines()
        .find(|line| line.starts_with("RUN for c in "))
        .expect("the loop that stubs each crate's sources");
    for name in crates {
        let copy = format!("COPY crates/{name}/Cargo.toml crates/{name}/Cargo.toml\n");
        assert!(
            dockerfile.contains(&copy),
            "the image build copies {name}'s manifest"
        );
        assert!(
            stubbed
                .split_whitespace()
                .any(|word| word.trim_end_matches(';') == name),
            "the image build stubs {name}'s sources"
        );
    }
    assert!(
        !dockerfile.contains("COPY config /app/config"),
        "no dev/test profile in the image"
    );
}

/// An empty database and a role name of this test's own, dropped at the end.
struct Scratch {
    admin_url: String,
    database: String,
    role: String,
}

impl Scratch {
    async fn drop_all(&self) {
        trachios_postgres::drop_database(&self.admin_url, &self.database)
            .await
            .expect("drop the scratch database");
        psql(
            &self.admin_url,
            &format!("DROP ROLE IF EXISTS \"{}\"", self.role),
        )
        .await;
    }
}

#[tokio::test]
async fn the_service_migrates_and_serves_through_the_role_the_init_script_creates() {
    let admin_url = trachios_postgres::with_database(&base_database_url(), "postgres");
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let scratch = Scratch {
        admin_url: admin_url.clone(),
        database: format!(
            "trachios_test_{}_deploy_{}",
            std::process::id(),
            &unique[..12]
        ),
        role: format!("trachios_app_{}", &unique[..12]),
    };
    trachios_postgres::create_database_if_missing(&admin_url, &scratch.database)
        .await
        .expect("create the scratch database");

    let server = url::Url::parse(&base_database_url()).expect("a database URL");
    let status = Command::new("sh")
        .arg(format!(
            "{}/../../docker/postgres/init-app-role.sh",
            env!("CARGO_MANIFEST_DIR")
        ))
        .env("PGHOST", server.host_str().unwrap_or("127.0.0.1"))
        .env("PGPORT", server.port().unwrap_or(5432).to_string())
        .env("POSTGRES_USER", server.username())
        .env("POSTGRES_DB", &scratch.database)
        .env("TRACHIOS_DB_USER", &scratch.role)
        .env("TRACHIOS_DB_PASSWORD", "an-app-password-for-the-test")
        .stdout(Stdio::null())
        .status()
        .await
        .expect("sh runs the init script");
    assert!(status.success(), "the init script succeeded");

    let privileges = psql(
        &admin_url,
        &format!(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = '{}'",
            scratch.role
        ),
    )
    .await;
    assert_eq!(
        privileges.trim(),
        "f|f|f",
        "the service's role has no special rights"
    );

    let mut app_url = server.clone();
    app_url.set_username(&scratch.role).expect("a username");
    app_url
        .set_password(Some("an-app-password-for-the-test"))
        .expect("a password");
    app_url.set_path(&scratch.database);
    // The service applies its own migrations at start-up, as the unprivileged role.
    let app = spawn_with(settings(app_url.as_str(), 3600.0)).await;
    let (token, _) = app.customer("jo@x.io").await;
    let order = app.create_order(&token, "Desk").await;
    assert_eq!(
        app.order(&token, order["id"].as_i64().unwrap()).await.0,
        StatusCode::OK
    );
    drop(app);
    scratch.drop_all().await;
}

/// The shell script Compose runs as the Redis container's command.
fn compose_redis_script() -> String {
    let compose = repository_file("docker/docker-compose.yml");
    let start = compose
        .find("      - |\n        exec redis-server")
        .expect("the Redis command is a script")
        + "      - |\n".len();
    compose[start..]
        .lines()
        .take_while(|line| line.starts_with("        "))
        .map(|line| &line[8..])
        .collect::<Vec<_>>()
        .join("\n")
        // Compose's escape for a literal dollar sign.
        .replace("$$", "$")
}

#[tokio::test]
async fn composes_redis_demands_its_password_and_never_shows_it_on_a_command_line() {
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // As in the container, on a port of its own.
    let script = compose_redis_script().replacen(
        "exec redis-server -",
        &format!("exec redis-server - --port {port} --bind 127.0.0.1"),
        1,
    );
    let mut server = Command::new("sh")
        .args(["-c", &script])
        .env("REDIS_PASSWORD", &password)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sh runs the script");
    let cli = |auth: Option<&str>| {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-p", &port.to_string(), "ping"]);
        match auth {
            Some(password) => cmd.env("REDISCLI_AUTH", password),
            None => cmd.env_remove("REDISCLI_AUTH"),
        };
        cmd
    };
    let up = eventually(std::time::Duration::from_secs(10), || async {
        let out = cli(Some(&password)).output().await.expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).contains("PONG")
    })
    .await;
    assert!(up, "Redis answers with the password");
    let anonymous = cli(None).output().await.expect("redis-cli runs");
    assert!(
        String::from_utf8_lossy(&anonymous.stdout).contains("NOAUTH"),
        "without the password: {}",
        String::from_utf8_lossy(&anonymous.stdout)
    );
    let pid = server.id().expect("running");
    let args = std::fs::read(format!("/proc/{pid}/cmdline")).expect("its command line");
    let args = String::from_utf8_lossy(&args);
    assert!(args.contains("redis-server"), "{args}");
    assert!(
        !args.contains(&password),
        "the password is on the command line: {args}"
    );
    server.kill().await.ok();
}

/// `trachios-server healthcheck`, as the image's HEALTHCHECK runs it: the same environment
/// as the server, exit 0 while it is ready, 1 once nothing answers.
async fn healthcheck(database_url: &str, port: &str) -> std::process::Output {
    let probe = server_process::binary(database_url, port)
        .arg("healthcheck")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(std::time::Duration::from_secs(30), probe)
        .await
        .expect("the probe gives up within its own timeout")
        .expect("the server binary runs")
}

#[tokio::test]
async fn the_healthcheck_passes_while_the_server_is_ready_and_fails_once_it_is_gone() {
    let scratch = ScratchDatabase::new();
    let database_url = format!("sqlite://{}", scratch.path().display());
    let mut server = ServerProcess::start(&database_url, "3600").await;
    let port = server
        .base
        .trim_end_matches("/api/v1")
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned();

    let ready = healthcheck(&database_url, &port).await;
    let said = String::from_utf8_lossy(&ready.stdout);
    assert!(
        ready.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    assert!(said.contains("\"status\":\"ready\""), "{said}");

    server.kill().await;
    let gone = healthcheck(&database_url, &port).await;
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("not ready"),
        "{gone:?}"
    );
}
