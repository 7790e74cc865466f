//! podman as `cargo xtask container` runs it: with a configuration of its own that the
//! machine's podman defaults do not break (runc instead of crun, limits within the
//! machine's), and nothing pulled from a registry.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{bail, Context};

/// podman's defaults that fail here: crun on this kernel's hybrid cgroups, and default
/// ulimits above the machine's hard limits.
const CONTAINERS_CONF: &str = "\
[containers]
default_ulimits = [\"nofile=1024:1024\", \"nproc=1000:1000\"]

[engine]
runtime = \"runc\"
";

pub(super) struct Podman {
    conf: PathBuf,
    storage_conf: PathBuf,
}

impl Podman {
    /// Writes the configuration under `work`, with a store of images and containers of its
    /// own there: what the check builds, caches and prunes never touches the machine's
    /// other images.
    pub(super) fn new(work: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(work)?;
        let conf = work.join("containers.conf");
        std::fs::write(&conf, CONTAINERS_CONF).context("writing containers.conf")?;
        let storage_conf = work.join("storage.conf");
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            work.join("storage").display(),
            work.join("run").display()
        );
        std::fs::write(&storage_conf, storage).context("writing storage.conf")?;
        Ok(Self { conf, storage_conf })
    }

    pub(super) fn version(&self) -> anyhow::Result<String> {
        Ok(self
            .output(&["version", "--format", "{{.Client.Version}}"])?
            .trim()
            .to_owned())
    }

    /// A command that runs `program` (podman, podman-compose) under this configuration.
    pub(super) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        self.configure(&mut cmd);
        cmd
    }

    /// Points a command that runs podman at this configuration. Images are built in
    /// Docker's format, as Docker builds them: the OCI format has no `HEALTHCHECK`, and
    /// podman would drop the Dockerfile's.
    pub(super) fn configure(&self, cmd: &mut Command) {
        cmd.env("CONTAINERS_CONF", &self.conf)
            .env("CONTAINERS_STORAGE_CONF", &self.storage_conf)
            .env("BUILDAH_FORMAT", "docker");
    }

    /// `podman ARGS`, its output shown; fails unless it exits 0.
    pub(super) fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        let status = self
            .command("podman")
            .args(args)
            .status()
            .with_context(|| format!("running podman {}", args.join(" ")))?;
        if !status.success() {
            bail!("podman {} failed ({status})", args.join(" "));
        }
        Ok(())
    }

    /// `podman ARGS`, its standard output returned; fails unless it exits 0.
    pub(super) fn output(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.capture(args)?;
        if !out.status.success() {
            bail!(
                "podman {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `podman ARGS` with both outputs captured, whatever its exit.
    pub(super) fn capture(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.command("podman")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running podman {}", args.join(" ")))
    }

    /// Whether `podman ARGS` exits 0, its output discarded.
    pub(super) fn succeeds(&self, args: &[&str]) -> bool {
        self.command("podman")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub(super) fn image_exists(&self, name: &str) -> bool {
        self.succeeds(&["image", "exists", name])
    }

    /// Removes containers, networks or volumes left by an earlier run that stopped halfway;
    /// whatever is not there is fine.
    pub(super) fn remove_quietly(&self, kind: &str, names: &[&str]) {
        for name in names {
            let _ = self
                .command("podman")
                .args([kind, "rm", "--force", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
