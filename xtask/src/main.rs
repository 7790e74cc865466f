//! Project automation: `cargo xtask <command>` (see `cargo xtask help`).

mod audit;
mod bare;
mod bench;
mod container;
mod db;
mod fuzz;
mod process;
mod requirements;
mod services;
mod tls_pass;

use anyhow::{bail, Context};

const USAGE: &str = "\
cargo xtask <command>

  dev                   run the service locally: uses the PostgreSQL/Redis it finds, or starts
                        private ones from the installed binaries; migrates, seeds the admin, runs
  test [--install] [ARGS]
                        every test on both stores, then the fuzzing; installs what the tests
                        need when run as root or with --install (sudo); ARGS go to
                        `cargo test --workspace` and leave out the second store and the fuzzing
  screenshots           the page tests in headless Chromium, saving crates/http/screenshots/*.png
  migrate               apply pending migrations
  migrate --revert      revert the most recent migration
  migrate status        list migrations and whether each is applied
  seed                  create the admin from ADMIN_EMAIL / ADMIN_PASSWORD
  seed --demo N         ... plus a demo catalog and N demo customers with three orders each
  copy-to-postgres URL [FILE]
                        copy users, orders, history and logged-out tokens from the embedded
                        store (FILE, default: the configured one or trachios.db) into the empty
                        PostgreSQL database at URL, keeping ids; stop the server first
  fuzz [ARGS]           schemathesis against the server and its OpenAPI document (part of
                        `test`); ARGS go to `schemathesis run`, FUZZ_SEED picks other cases
  audit                 the dependencies against the RustSec advisory database (the snapshot in
                        ../shared/advisory-db, or ADVISORY_DB); installs cargo-audit if missing
  container [--cold] [--install]
                        build docker/Dockerfile with podman (local stand-ins for the base images),
                        run the image alone and the Compose stack, walk the README's flow through
                        both; --cold adds a build without the layer cache
  bench [WHICH]         run the benchmarks (lifecycle, cache, field, tracking, stores, webhooks,
                        lines, search, export, bulk, order-search, paths) and print their figures; `paths` is
                        the headline table
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The same `.env` the server reads; variables already set take precedence.
    // Without a `.env` file the environment alone configures the service.
    dotenvy::dotenv().ok();
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    match args.first().map(String::as_str) {
        Some("dev") => services::dev(),
        Some("test") => services::test(&args[1..]),
        Some("screenshots") => services::screenshots(),
        Some("migrate") => runtime.block_on(db::migrate(args.get(1).map(String::as_str))),
        Some("seed") => {
            let demo = match (args.get(1).map(String::as_str), args.get(2)) {
                (None, _) => 0,
                (Some("--demo"), Some(n)) => {
                    n.parse().context("--demo takes a number of customers")?
                }
                _ => bail!("usage: cargo xtask seed [--demo N]"),
            };
            runtime.block_on(db::seed(demo))
        }
        Some("copy-to-postgres") => runtime.block_on(db::copy_to_postgres(&args[1..])),
        Some("fuzz") => runtime.block_on(fuzz::run(&args[1..])),
        Some("audit") => audit::audit(),
        Some("container") => container::run(&runtime, &args[1..]),
        Some("bench") => bench::run(&runtime, args.get(1).map(String::as_str)),
        // Started by the benchmarks as their reference; not meant to be run by hand.
        Some("bare-actix") => {
            let port = args
                .get(1)
                .context("bare-actix PORT [ORDER_JSON [REDIS_URL KEY]]")?
                .parse()?;
            let redis = args.get(3).cloned().zip(args.get(4).cloned());
            bare::serve(port, args.get(2).cloned().unwrap_or_default(), redis)
        }
        Some("help") | Some("--help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}
