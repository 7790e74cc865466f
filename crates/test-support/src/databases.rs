//! One fresh database per test. The first test of a process migrates a template database;
//! every test then gets a copy (`CREATE DATABASE … TEMPLATE …`), which takes milliseconds
//! instead of running every migration again.
//!
//! Names carry the creating process's id (`trachios_test_{pid}_…`), so that a sweep at
//! start-up drops what dead processes left behind and never a database that another test
//! run, still going, is using.

use std::path::Path;

use tokio::sync::{Mutex, OnceCell};
use trachios_domain::error_chain as chain;
use trachios_postgres::{
    create_database_from_template, create_database_if_missing, databases_with_prefix,
    drop_database, migrate, with_database,
};

const TEST_PREFIX: &str = "trachios_test_";
const TEMPLATE_PREFIX: &str = "trachios_tmpl_";

/// The PostgreSQL server the tests use: `TEST_DATABASE_URL`, `DATABASE_URL`, or the local
/// default (trust auth as user `postgres`).
pub fn base_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, migrated database of its own; returns its URL. Panics with the reason when
/// PostgreSQL cannot provide one: a test without its database cannot mean anything.
pub async fn fresh_database() -> String {
    let base = base_database_url();
    let template = template(&base).await;
    let name = format!(
        "{TEST_PREFIX}{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    // PostgreSQL refuses to copy a template while another copy of it is being made.
    static CLONING: Mutex<()> = Mutex::const_new(());
    let _one_at_a_time = CLONING.lock().await;
    let created = create_database_from_template(&base, &name, template)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "creating test database {name} from {template}: {}",
                chain(&e)
            )
        });
    assert!(created, "test database {name} already existed");
    with_database(&base, &name)
}

/// This process's migrated template, made once.
async fn template(base: &str) -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            sweep_in_background(base);
            let name = format!("{TEMPLATE_PREFIX}{}", std::process::id());
            create_database_if_missing(base, &name)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL must be reachable for these tests ({base}): {}",
                        chain(&e)
                    )
                });
            migrate(&with_database(base, &name))
                .await
                .unwrap_or_else(|e| panic!("migrating template {name}: {}", chain(&e)));
            name
        })
        .await
}

/// Drops what dead test processes left behind, on a thread of its own: each `DROP DATABASE`
/// waits for a checkpoint (about a second), so a long sweep must not hold up the tests.
/// What it has not finished when this process exits, the next run's sweep drops.
fn sweep_in_background(base: &str) {
    let base = base.to_owned();
    std::thread::spawn(move || {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(sweep_dead_processes(&base)),
            Err(e) => eprintln!("test-support: no runtime for the database sweep: {e}"),
        }
    });
}

/// Drops the test databases and templates of processes that no longer run.
async fn sweep_dead_processes(base: &str) {
    for prefix in [TEST_PREFIX, TEMPLATE_PREFIX] {
        let names = match databases_with_prefix(base, prefix).await {
            Ok(names) => names,
            Err(e) => {
                eprintln!("test-support: listing old test databases: {}", chain(&e));
                return;
            }
        };
        for name in names {
            if owner_is_alive(&name, prefix) {
                continue;
            }
            if let Err(e) = drop_database(base, &name).await {
                eprintln!(
                    "test-support: dropping old test database {name}: {}",
                    chain(&e)
                );
            }
        }
    }
}

/// Whether the process named in `trachios_test_{pid}_…` still runs on this machine; a name
/// without a pid belongs to nobody.
fn owner_is_alive(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// The database a `postgres://…/NAME?PARAMS` URL names.
pub fn database_name(url: &str) -> String {
    let path = url.split_once('?').map_or(url, |(path, _)| path);
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_belongs_to_the_process_named_in_it() {
        let mine = format!("{TEST_PREFIX}{}_abc", std::process::id());
        assert!(owner_is_alive(&mine, TEST_PREFIX));
        assert!(!owner_is_alive(
            &format!("{TEST_PREFIX}4294967290_abc"),
            TEST_PREFIX
        ));
        assert!(!owner_is_alive(&format!("{TEST_PREFIX}abc"), TEST_PREFIX));
        let template = format!("{TEMPLATE_PREFIX}{}", std::process::id());
        assert!(owner_is_alive(&template, TEMPLATE_PREFIX));
    }
}
