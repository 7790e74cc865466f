//! The images the Dockerfile and the compose file name, which no registry here serves, built
//! locally under the same names: `debian:bookworm-slim` from Debian's packages with
//! debootstrap, and from it the Rust builder (this machine's toolchain copied in) and
//! PostgreSQL and Redis stand-ins. Each is built only when missing, so later runs reuse them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

use super::podman::Podman;

pub(super) const DEBIAN: &str = "docker.io/library/debian:bookworm-slim";
pub(super) const POSTGRES: &str = "docker.io/library/postgres:15-alpine";
pub(super) const REDIS: &str = "docker.io/library/redis:7-alpine";

/// Where the Containerfiles of the stand-ins live.
fn recipes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("container")
}

/// What the official slim image leaves out of every package it installs, and its apt
/// sources (the point releases' and the security updates').
const DPKG_EXCLUDES: &str = "\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
";
const APT_SOURCES: &str = "\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";
const APT_CLEAN: &str = "\
DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true\"; };
Dir::Cache::pkgcache \"\";
Dir::Cache::srcpkgcache \"\";
";

/// Builds every stand-in that is missing; prints what it built and how long it took.
pub(super) fn ensure(podman: &Podman, work: &Path) -> anyhow::Result<()> {
    if !podman.image_exists(DEBIAN) {
        timed(DEBIAN, || debian(podman, work))?;
    }
    let rust = rust_image()?;
    if !podman.image_exists(&rust) {
        timed(&rust, || rust_builder(podman, work, &rust))?;
    }
    for (name, recipe) in [
        (POSTGRES, "postgres.Containerfile"),
        (REDIS, "redis.Containerfile"),
    ] {
        if !podman.image_exists(name) {
            timed(name, || {
                let dir = recipes();
                build(podman, &dir.join(recipe), &dir, name)
            })?;
        }
    }
    Ok(())
}

fn timed(what: &str, build: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    eprintln!("xtask: building the local stand-in for {what}");
    let started = Instant::now();
    build()?;
    eprintln!(
        "xtask: {what} built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn build(podman: &Podman, recipe: &Path, context: &Path, tag: &str) -> anyhow::Result<()> {
    let recipe = recipe.to_string_lossy();
    let context = context.to_string_lossy();
    podman.run(&[
        "build",
        "--pull=never",
        "--quiet",
        "-f",
        &recipe,
        "-t",
        tag,
        &context,
    ])
}

/// A minimal bookworm trimmed as the official slim image is, imported as one layer.
fn debian(podman: &Podman, work: &Path) -> anyhow::Result<()> {
    let root = work.join("bookworm-root");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let mirror =
        std::env::var("DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    let status = Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&root)
        .arg(&mirror)
        .stdout(Stdio::null())
        .status()
        .context("running debootstrap")?;
    if !status.success() {
        bail!("debootstrap bookworm from {mirror} failed ({status})");
    }
    std::fs::write(root.join("etc/dpkg/dpkg.cfg.d/slim"), DPKG_EXCLUDES)?;
    std::fs::write(root.join("etc/apt/apt.conf.d/docker-clean"), APT_CLEAN)?;
    std::fs::write(
        root.join("etc/apt/sources.list.d/debian.sources"),
        APT_SOURCES,
    )?;
    let _ = std::fs::remove_file(root.join("etc/apt/sources.list"));
    keep_only_copyrights(&root.join("usr/share/doc"))?;
    for dir in [
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "var/lib/apt/lists",
        "var/cache/apt",
        "var/log",
    ] {
        empty(&root.join(dir))?;
    }
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["--numeric-owner", "-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("running tar")?;
    let stdout = tar.stdout.take().context("tar's output")?;
    let imported = podman
        .command("podman")
        .args(["import", "--change", "CMD [\"bash\"]", "-", DEBIAN])
        .stdin(stdout)
        .stdout(Stdio::null())
        .status()
        .context("running podman import")?;
    let packed = tar.wait()?;
    if !packed.success() || !imported.success() {
        bail!("importing the bookworm root failed (tar {packed}, podman {imported})");
    }
    std::fs::remove_dir_all(&root)?;
    Ok(())
}

/// Each package's documentation but its copyright file, as the official slim image keeps.
fn keep_only_copyrights(doc: &Path) -> anyhow::Result<()> {
    for package in std::fs::read_dir(doc)? {
        let package = package?.path();
        // A package's directory may be a link to its source package's (libgcc-s1 to
        // gcc-12-base): kept, as the copyright it leads to is.
        if package.is_symlink() {
            continue;
        }
        if !package.is_dir() {
            remove(&package)?;
            continue;
        }
        for entry in std::fs::read_dir(&package)? {
            let path = entry?.path();
            if path.file_name().is_none_or(|name| name != "copyright") {
                remove(&path)?;
            }
        }
    }
    Ok(())
}

/// Removes what a directory holds, keeping the directory.
fn empty(dir: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        remove(&entry?.path())?;
    }
    Ok(())
}

fn remove(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() && !path.is_symlink() {
        std::fs::remove_dir_all(path)?;
    } else {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// The builder image the Dockerfile names, `rust:<RUST_VERSION>-slim-bookworm`, for the
/// version its `ARG RUST_VERSION` defaults to; this machine's toolchain must be that one.
fn rust_image() -> anyhow::Result<String> {
    let dockerfile = std::fs::read_to_string(super::dockerfile())?;
    let wanted = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("ARG RUST_VERSION="))
        .context("docker/Dockerfile has no ARG RUST_VERSION=")?
        .trim()
        .to_owned();
    let version = Command::new("rustc").arg("--version").output()?;
    let version = String::from_utf8_lossy(&version.stdout);
    let have = version.split_whitespace().nth(1).unwrap_or_default();
    if have != wanted && !have.starts_with(&format!("{wanted}.")) {
        bail!(
            "the Dockerfile builds with Rust {wanted}, and this machine's rustc is {have}: \
             the builder stand-in copies this machine's toolchain"
        );
    }
    Ok(format!("docker.io/library/rust:{wanted}-slim-bookworm"))
}

/// Certificate authorities the machine trusts beyond Debian's.
const LOCAL_AUTHORITIES: &str = "/usr/local/share/ca-certificates";

/// The Debian stand-in with gcc, this machine's toolchain (its programs and libraries, not
/// its documentation) and the authorities it trusts beyond Debian's copied in.
fn rust_builder(podman: &Podman, work: &Path, tag: &str) -> anyhow::Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let context = work.join("rust-context");
    if context.exists() {
        std::fs::remove_dir_all(&context)?;
    }
    let authorities = context.join("certificate-authorities");
    std::fs::create_dir_all(&authorities)?;
    if let Ok(entries) = std::fs::read_dir(LOCAL_AUTHORITIES) {
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "crt") {
                if let Some(name) = path.file_name() {
                    std::fs::copy(&path, authorities.join(name))?;
                }
            }
        }
    }
    let toolchain = context.join("toolchain");
    std::fs::create_dir_all(&toolchain)?;
    for part in ["bin", "lib", "libexec"] {
        if !sysroot.join(part).exists() {
            continue;
        }
        let status = Command::new("cp")
            .arg("-a")
            .arg(sysroot.join(part))
            .arg(&toolchain)
            .status()
            .context("copying the toolchain")?;
        if !status.success() {
            bail!("copying {} failed ({status})", sysroot.join(part).display());
        }
    }
    let result = build(podman, &recipes().join("rust.Containerfile"), &context, tag);
    std::fs::remove_dir_all(&context)?;
    result
}
