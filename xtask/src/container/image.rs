//! The service's image, built from `docker/Dockerfile` as it is, and what it carries: its
//! size, its user, its packages and crates, and no secret in any layer.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::podman::Podman;
use super::secrets;

pub(super) const IMAGE: &str = "localhost/trachios:check";
/// The Dockerfile's build stage, tagged so that pruning keeps its layers: the dependency
/// layer among them is what makes the next build warm.
const BUILD_STAGE: &str = "localhost/trachios:check-build-stage";

/// How a build went: its time and how many of its steps the layer cache answered.
pub(super) struct Built {
    pub(super) took: Duration,
    pub(super) cached_steps: usize,
    pub(super) steps: usize,
    /// The build context's secrets, none of which may be in a layer.
    pub(super) secrets: Vec<String>,
}

/// Builds the image; `cold` ignores the layer cache. The build stage is built and tagged
/// first, then the image (from the cache the first build left), then whatever the builds
/// replaced is pruned: the store keeps one image and one build stage, not one per run. The
/// builds' output goes to a log under `work`, shown when one fails.
pub(super) fn build(podman: &Podman, work: &Path, cold: bool) -> anyhow::Result<Built> {
    let log_path = work.join("build.log");
    let log = std::fs::File::create(&log_path)?;
    let root = super::repository();
    let dockerfile = super::dockerfile();
    let canary = secrets::Canary::plant(&root)?;
    let started = Instant::now();
    let mut failed = None;
    for (stage, tag) in [(Some("build"), BUILD_STAGE), (None, IMAGE)] {
        let mut cmd = podman.command("podman");
        cmd.args(["build", "--pull=never", "--layers", "-t", tag, "-f"])
            .arg(&dockerfile);
        if let Some(stage) = stage {
            cmd.args(["--target", stage]);
        }
        if cold && stage.is_some() {
            cmd.arg("--no-cache");
        }
        let status = cmd
            .arg(&root)
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .status()
            .context("running podman build")?;
        if !status.success() {
            failed = Some(status);
            break;
        }
    }
    let took = started.elapsed();
    let secrets = canary.secrets();
    drop(canary);
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    if let Some(status) = failed {
        let tail: Vec<&str> = output.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "podman build failed ({status}); the end of {}:\n{}",
            log_path.display(),
            tail.join("\n")
        );
    }
    podman.output(&["image", "prune", "--force"])?;
    Ok(Built {
        took,
        cached_steps: output.matches("--> Using cache").count(),
        // Multi-stage builds number their steps `[stage/stages] STEP n/m`.
        steps: output.lines().filter(|l| l.contains("STEP ")).count(),
        secrets,
    })
}

/// The image's size in bytes, as podman counts it (every layer, uncompressed).
pub(super) fn size(podman: &Podman) -> anyhow::Result<u64> {
    podman
        .output(&["image", "inspect", "--format", "{{.Size}}", IMAGE])?
        .trim()
        .parse()
        .context("the image's size")
}

/// The user the image runs as; refuses root.
pub(super) fn user(podman: &Podman) -> anyhow::Result<String> {
    let user = podman
        .output(&["image", "inspect", "--format", "{{.Config.User}}", IMAGE])?
        .trim()
        .to_owned();
    let name = user.split(':').next().unwrap_or_default();
    if name.is_empty() || name == "0" || name == "root" {
        bail!("the image runs as root (USER {user:?})");
    }
    Ok(user)
}

/// Writes the image's bill of materials beside the run's other files: the Debian packages
/// the image's files come from (the records the Dockerfile keeps in status.d) and the crates
/// compiled into the binary. Returns their counts.
pub(super) fn bill_of_materials(podman: &Podman, work: &Path) -> anyhow::Result<(usize, usize)> {
    let root = PathBuf::from(podman.output(&["image", "mount", IMAGE])?.trim());
    let records = std::fs::read_dir(root.join("var/lib/dpkg/status.d"));
    let mut packages = Vec::new();
    for record in records.context("the image keeps no package records")? {
        let text = std::fs::read_to_string(record?.path())?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_default()
                .to_owned()
        };
        packages.push(format!("{} {}", field("Package:"), field("Version:")));
    }
    podman.output(&["image", "unmount", IMAGE])?;
    if packages.is_empty() {
        bail!("the image keeps no package records");
    }
    packages.sort();
    std::fs::write(work.join("debian-packages.txt"), packages.join("\n") + "\n")?;
    let crates = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree",
            "--locked",
            "--package",
            "trachios-server",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(super::repository())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo tree")?;
    if !crates.status.success() {
        bail!("cargo tree failed ({})", crates.status);
    }
    let mut crates: Vec<String> = String::from_utf8_lossy(&crates.stdout)
        .lines()
        .map(|l| l.trim_end_matches(" (*)").to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    crates.sort();
    crates.dedup();
    std::fs::write(work.join("crates.txt"), crates.join("\n") + "\n")?;
    Ok((packages.len(), crates.len()))
}

/// The image saved as an uncompressed OCI layout under `work`, every blob (layers, config,
/// manifest) a file to search.
pub(super) fn blobs(podman: &Podman, work: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = work.join("image-layout");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let target = dir.to_string_lossy().into_owned();
    podman.output(&[
        "save",
        "--quiet",
        "--format",
        "oci-dir",
        "--uncompressed",
        "-o",
        &target,
        IMAGE,
    ])?;
    let mut blobs = Vec::new();
    for entry in std::fs::read_dir(dir.join("blobs/sha256"))? {
        blobs.push(entry?.path());
    }
    Ok(blobs)
}

/// The names of the files a layer holds, when the blob is a layer.
pub(super) fn layer_files(blob: &Path) -> Option<Vec<String>> {
    let listed = Command::new("tar")
        .arg("-tf")
        .arg(blob)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    listed.status.success().then(|| {
        String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    })
}
