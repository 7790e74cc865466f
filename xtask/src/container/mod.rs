//! `cargo xtask container`: the container path proven on this machine with podman. The
//! images the Dockerfile and the compose file start from are built locally when missing (no
//! registry is reachable), the image is built from `docker/Dockerfile` as it is, run by
//! itself and then as the Compose stack, and the README's flow is walked through both.

mod alone;
mod compose;
mod flow;
mod image;
mod podman;
mod secrets;
mod stand_ins;

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use tokio::runtime::Runtime;

use crate::requirements::{ensure_container_tools, InstallPolicy};

/// The image's size the issue asks for.
const SIZE_TARGET_MB: f64 = 100.0;

pub fn run(runtime: &Runtime, args: &[String]) -> anyhow::Result<()> {
    let mut cold = false;
    let mut install = false;
    for arg in args {
        match arg.as_str() {
            "--cold" => cold = true,
            "--install" => install = true,
            other => bail!("usage: cargo xtask container [--cold] [--install] (not {other})"),
        }
    }
    ensure_container_tools(InstallPolicy::for_this_user(install))?;
    let work = crate::services::target_dir().join("container");
    let podman = podman::Podman::new(&work)?;
    let started = Instant::now();

    stand_ins::ensure(&podman, &work)?;
    let built = image::build(&podman, &work, false)?;
    let cold_build = if cold {
        Some(image::build(&podman, &work, true)?)
    } else {
        None
    };
    let size = image::size(&podman)?;
    let user = image::user(&podman)?;
    let layers = secrets::check(&podman, &work, &built.secrets)?;
    let (packages, crates) = image::bill_of_materials(&podman, &work)?;
    let alone = alone::run(&podman, runtime)?;
    let composed = compose::run(&podman, runtime, &work)?;

    let mb = size as f64 / 1e6;
    println!();
    println!("container (podman {}, runc)", podman.version()?);
    println!(
        "  build                 {:.1} s, {} of {} steps from the layer cache (build stage, then image)",
        built.took.as_secs_f64(),
        built.cached_steps,
        built.steps
    );
    if let Some(cold) = cold_build {
        println!(
            "  build, cold cache     {:.1} s (--no-cache)",
            cold.took.as_secs_f64()
        );
    }
    println!(
        "  image size            {mb:.1} MB (target < {SIZE_TARGET_MB:.0} MB: {})",
        if mb < SIZE_TARGET_MB {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  user                  {user} (the process runs as uid {})",
        alone.uid
    );
    println!("  secrets in layers     none in {layers} layers, history and config");
    println!(
        "  bill of materials     {packages} Debian packages, {crates} crates: {}",
        work.display()
    );
    println!(
        "  image alone           ready in {:.1} s; read-only, no capabilities; sample secret refused; flow passed",
        alone.ready_after.as_secs_f64()
    );
    println!(
        "  compose stack         ready in {:.1} s; healthchecks pass; flow passed",
        composed.first_ready.as_secs_f64()
    );
    println!(
        "  down, up              ready in {:.1} s; the orders still there",
        composed.again_ready.as_secs_f64()
    );
    println!(
        "  total                 {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn repository() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn dockerfile() -> PathBuf {
    repository().join("docker/Dockerfile")
}

/// 24 random bytes as hex: fresh secrets for every run.
fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
