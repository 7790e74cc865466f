//! What `cargo xtask test` needs on the machine, and installing what is missing: a new
//! machine with only Rust gets to a green run with this one command.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// A program the tests run, and the Debian package that brings it.
struct Program {
    /// What the tests do with it, for the message that names it.
    purpose: &'static str,
    /// Found when any of these exists (a name on `PATH` or an absolute path).
    any_of: &'static [&'static str],
    /// The environment variable that points the tests at another binary, if any.
    override_var: Option<&'static str>,
    package: &'static str,
}

const PROGRAMS: [Program; 6] = [
    Program {
        purpose: "the outage and deployment tests run psql",
        any_of: &["psql"],
        override_var: None,
        package: "postgresql-client",
    },
    Program {
        purpose: "the cache tests start private Redis servers",
        any_of: &["redis-server"],
        override_var: None,
        package: "redis-server",
    },
    Program {
        purpose: "private Redis servers are stopped with redis-cli",
        any_of: &["redis-cli"],
        override_var: None,
        package: "redis-tools",
    },
    Program {
        purpose: "the page tests drive a headless Chromium",
        any_of: &["chromium", "/usr/bin/chromium"],
        override_var: Some("CHROME_BIN"),
        package: "chromium",
    },
    Program {
        purpose: "the page tests talk WebDriver to chromedriver",
        any_of: &["chromedriver"],
        override_var: Some("CHROMEDRIVER"),
        package: "chromium-driver",
    },
    Program {
        purpose: "the metrics test checks the exposition with promtool",
        any_of: &["promtool"],
        override_var: None,
        package: "prometheus",
    },
];

/// What `cargo xtask container` runs from Debian's packages: podman with the runtime and
/// networking that work on these machines, and the tool that builds the local base image.
const CONTAINER_PROGRAMS: [Program; 6] = [
    Program {
        purpose: "the image is built and run with podman",
        any_of: &["podman"],
        override_var: None,
        package: "podman",
    },
    Program {
        purpose: "podman's default runtime, crun, fails on this kernel's cgroups; runc works",
        any_of: &["runc"],
        override_var: None,
        package: "runc",
    },
    Program {
        purpose: "podman's networks",
        any_of: &["/usr/lib/podman/netavark"],
        override_var: None,
        package: "netavark",
    },
    Program {
        purpose: "containers on one network find each other by name",
        any_of: &["/usr/lib/podman/aardvark-dns"],
        override_var: None,
        package: "aardvark-dns",
    },
    Program {
        purpose: "podman's networks forward and masquerade through iptables",
        any_of: &["iptables", "/usr/sbin/iptables"],
        override_var: None,
        package: "iptables",
    },
    Program {
        purpose: "no image registry is reachable: the base image is built from Debian's packages",
        any_of: &["debootstrap", "/usr/sbin/debootstrap"],
        override_var: None,
        package: "debootstrap",
    },
];

/// PostgreSQL's server programs, needed only when no usable server is reachable.
const POSTGRES_SERVER: Program = Program {
    purpose: "no usable PostgreSQL answers, so a private one is started from initdb and pg_ctl",
    any_of: &[],
    override_var: None,
    package: "postgresql",
};

/// Whether and how missing packages may be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallPolicy {
    /// Root: install with apt-get and pip directly.
    AsRoot,
    /// `--install` as another user: through sudo.
    WithSudo,
    /// Name what is missing and stop.
    Never,
}

impl InstallPolicy {
    pub fn for_this_user(install_flag: bool) -> Self {
        if crate::services::is_root() {
            InstallPolicy::AsRoot
        } else if install_flag {
            InstallPolicy::WithSudo
        } else {
            InstallPolicy::Never
        }
    }

    fn command(self, program: &str) -> Command {
        match self {
            InstallPolicy::WithSudo => {
                let mut cmd = Command::new("sudo");
                cmd.arg(program);
                cmd
            }
            InstallPolicy::AsRoot | InstallPolicy::Never => Command::new(program),
        }
    }
}

fn on_path(name: &str) -> bool {
    if name.contains('/') {
        return Path::new(name).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

fn present(program: &Program) -> bool {
    if let Some(var) = program.override_var {
        if let Ok(path) = std::env::var(var) {
            return on_path(&path);
        }
    }
    program.any_of.iter().any(|name| on_path(name))
}

/// Makes sure every program the tests need is there, installing what is missing when
/// `policy` allows; `postgres_server_needed` when no usable PostgreSQL is reachable.
pub fn ensure(
    policy: InstallPolicy,
    postgres_server_needed: bool,
    with_fuzzing: bool,
) -> anyhow::Result<()> {
    let mut missing: Vec<&Program> = PROGRAMS.iter().filter(|p| !present(p)).collect();
    if postgres_server_needed && crate::services::find_postgres_bin("initdb").is_none() {
        missing.push(&POSTGRES_SERVER);
    }
    let schemathesis_missing = with_fuzzing && !on_path("schemathesis");
    if missing.is_empty() && !schemathesis_missing {
        return Ok(());
    }
    let mut packages: Vec<&str> = missing.iter().map(|p| p.package).collect();
    // schemathesis comes from PyPI, through the interpreter's pip, which Debian packages apart.
    if schemathesis_missing && !has_pip() {
        packages.push("python3-pip");
    }
    for program in &missing {
        eprintln!("xtask: missing {} ({})", program.package, program.purpose);
    }
    if schemathesis_missing {
        eprintln!("xtask: missing schemathesis (the fuzzing runs it against the server)");
    }
    if policy == InstallPolicy::Never {
        let mut how = Vec::new();
        if !packages.is_empty() {
            how.push(format!(
                "sudo apt-get install --no-install-recommends {}",
                packages.join(" ")
            ));
        }
        if schemathesis_missing {
            how.push("pip install schemathesis".to_owned());
        }
        bail!(
            "the tests need programs that are not installed; install them with\n    {}\nor run `cargo xtask test --install` (as root it installs by itself)",
            how.join("\n    ")
        );
    }
    if !packages.is_empty() {
        install_packages(policy, &packages)?;
    }
    if schemathesis_missing {
        install_schemathesis(policy)?;
    }
    all_present(&PROGRAMS)
}

/// After installing: fails naming what is still missing.
fn all_present(programs: &[Program]) -> anyhow::Result<()> {
    let still: Vec<&str> = programs
        .iter()
        .filter(|p| !present(p))
        .map(|p| p.package)
        .collect();
    if !still.is_empty() {
        bail!("installed, yet still missing: {}", still.join(" "));
    }
    Ok(())
}

/// Makes sure what `cargo xtask container` runs is installed, installing what is missing
/// when `policy` allows.
pub fn ensure_container_tools(policy: InstallPolicy) -> anyhow::Result<()> {
    let missing: Vec<&Program> = CONTAINER_PROGRAMS.iter().filter(|p| !present(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    for program in &missing {
        eprintln!("xtask: missing {} ({})", program.package, program.purpose);
    }
    let packages: Vec<&str> = missing.iter().map(|p| p.package).collect();
    if policy == InstallPolicy::Never {
        bail!(
            "install them with\n    sudo apt-get install --no-install-recommends {}\nor run `cargo xtask container --install`",
            packages.join(" ")
        );
    }
    install_packages(policy, &packages)?;
    all_present(&CONTAINER_PROGRAMS)
}

fn install_packages(policy: InstallPolicy, packages: &[&str]) -> anyhow::Result<()> {
    if !on_path("apt-get") {
        bail!(
            "{} must be installed, and this machine has no apt-get: install them with its package manager",
            packages.join(", ")
        );
    }
    eprintln!("xtask: installing {}", packages.join(" "));
    let updated = policy
        .command("apt-get")
        .args(["update", "-qq"])
        .status()
        .context("running apt-get update")?;
    if !updated.success() {
        bail!("apt-get update failed ({updated})");
    }
    let installed = policy
        .command("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .context("running apt-get install")?;
    if !installed.success() {
        bail!(
            "apt-get install {} failed ({installed})",
            packages.join(" ")
        );
    }
    Ok(())
}

fn has_pip() -> bool {
    Command::new("python3")
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn install_schemathesis(policy: InstallPolicy) -> anyhow::Result<()> {
    eprintln!("xtask: installing schemathesis");
    let pip = |extra: &[&str]| -> anyhow::Result<bool> {
        let mut pip = policy.command("python3");
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        if policy == InstallPolicy::AsRoot {
            pip.arg("--root-user-action=ignore");
        }
        let status = pip
            .args(extra)
            .arg("schemathesis")
            .status()
            .context("running pip (python3 -m pip)")?;
        Ok(status.success())
    };
    // A distribution's own Python refuses pip installs outside a virtual environment
    // (PEP 668); a test tool in the system's site-packages is what this command is for.
    let installed = pip(&[])? || pip(&["--break-system-packages"])?;
    if !installed || !on_path("schemathesis") {
        bail!("pip install schemathesis failed, or put it where PATH does not reach");
    }
    Ok(())
}
