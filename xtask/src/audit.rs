//! `cargo xtask audit`: the dependencies in Cargo.lock against the RustSec advisory
//! database. CI machines cannot reach its git host, so the database is a snapshot of its
//! files (`../shared/advisory-db`, or `ADVISORY_DB`); cargo-audit reads only git
//! repositories, so the snapshot is committed into a throwaway one first. The advisories
//! ignored on purpose, each with its reason, are in `.cargo/audit.toml`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

pub fn audit() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let snapshot = std::env::var_os("ADVISORY_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/advisory-db"));
    if !snapshot.join("crates").is_dir() {
        bail!(
            "no advisory database at {} (set ADVISORY_DB to a copy of rustsec/advisory-db)",
            snapshot.display()
        );
    }
    ensure_cargo_audit()?;
    let scratch = std::env::temp_dir().join(format!("trachios-audit-{}", std::process::id()));
    let outcome = audit_with_copy(&root, &snapshot, &scratch);
    std::fs::remove_dir_all(&scratch).ok();
    outcome
}

fn audit_with_copy(root: &Path, snapshot: &Path, scratch: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(scratch).context("a scratch directory")?;
    let db = scratch.join("advisory-db");
    run(Command::new("cp").arg("-r").arg(snapshot).arg(&db))?;
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.current_dir(&db)
            .args(["-c", "user.name=xtask", "-c", "user.email=xtask@localhost"])
            .args(args);
        run(&mut cmd)
    };
    git(&["init", "-q"])?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "snapshot"])?;
    if let Ok(about) = std::fs::read_to_string(snapshot.join("SNAPSHOT.md")) {
        if let Some(line) = about.lines().find(|l| l.contains("commit")) {
            println!("xtask: advisory database snapshot: {}", line.trim());
        }
    }
    // --stale: a snapshot is older than cargo-audit would like by design; it is refreshed
    // where the machines get it from.
    run(Command::new("cargo")
        .current_dir(root)
        .args([
            "audit",
            "--no-fetch",
            "--stale",
            "--deny",
            "warnings",
            "--db",
        ])
        .arg(&db))
    .context("cargo audit found advisories that apply (see above)")
}

fn ensure_cargo_audit() -> anyhow::Result<()> {
    let present = Command::new("cargo")
        .args(["audit", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    println!("xtask: installing cargo-audit (once; a few minutes)");
    run(Command::new("cargo").args(["install", "--locked", "cargo-audit"]))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed ({status})", cmd.get_program());
    }
    Ok(())
}
