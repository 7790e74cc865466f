//! No secret in any layer of the image: neither the build context's (a developer's `.env`,
//! or a canary planted where one would be when there is none), nor a private key, nor one
//! written into the image's history by an `ENV` or `ARG`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::image;
use super::podman::Podman;

/// The names of the settings that hold secrets, as `.env` spells them.
fn is_secret_key(key: &str) -> bool {
    ["SECRET", "PASSWORD", "TOKEN"]
        .iter()
        .any(|part| key.contains(part))
}

/// Files no layer may hold: the environment and the profiles that carry public secrets.
fn forbidden_file(path: &str) -> bool {
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    name == ".env"
        || path.contains(".git/")
        || (path.contains("config/") && (name == "dev.toml" || name == "test.toml"))
}

/// The build context's secrets while the image builds: the values of a developer's `.env`,
/// or, when there is none, a `.env` planted with a fresh secret, removed when this drops.
pub(super) struct Canary {
    planted: Option<PathBuf>,
    secrets: Vec<String>,
}

impl Canary {
    pub(super) fn plant(root: &Path) -> anyhow::Result<Self> {
        let path = root.join(".env");
        if path.exists() {
            let samples = values(&std::fs::read_to_string(root.join(".env.example"))?);
            let secrets = values(&std::fs::read_to_string(&path)?)
                .into_iter()
                .filter(|v| v.len() >= 8 && !samples.contains(v))
                .collect();
            return Ok(Self {
                planted: None,
                secrets,
            });
        }
        let secret = super::random_secret()?;
        std::fs::write(&path, format!("JWT_SECRET={secret}\n"))?;
        Ok(Self {
            planted: Some(path),
            secrets: vec![secret],
        })
    }

    pub(super) fn secrets(&self) -> Vec<String> {
        self.secrets.clone()
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        if let Some(path) = &self.planted {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The values of the secret settings of a `.env` file.
fn values(env: &str) -> Vec<String> {
    env.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| is_secret_key(key.trim()))
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
        .collect()
}

/// Searches every blob of the image and its history; returns how many layers it searched.
pub(super) fn check(podman: &Podman, work: &Path, secrets: &[String]) -> anyhow::Result<usize> {
    let history = podman.output(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        image::IMAGE,
    ])?;
    for line in history.lines() {
        for word in line.split_whitespace() {
            if let Some((key, value)) = word.split_once('=') {
                if is_secret_key(key) && !value.is_empty() {
                    bail!("the image's history sets the secret {key}: {line}");
                }
            }
        }
    }
    let patterns = work.join("secret-patterns.txt");
    let mut file = std::fs::File::create(&patterns)?;
    for secret in secrets {
        writeln!(file, "{secret}")?;
    }
    drop(file);
    let mut layers = 0;
    for blob in image::blobs(podman, work)? {
        if let Some(files) = image::layer_files(&blob) {
            layers += 1;
            if let Some(bad) = files.iter().find(|f| forbidden_file(f)) {
                bail!("a layer of the image holds {bad}");
            }
        }
        if contains_any(&blob, &patterns)? {
            bail!(
                "{} holds a secret of the build context or a private key",
                blob.display()
            );
        }
        if contains_multiline_marker(&blob)? {
            bail!("{} holds a private key", blob.display());
        }
    }
    if layers == 0 {
        bail!("the saved image had no layer to search");
    }
    Ok(layers)
}

/// Whether the file holds any line of `patterns` (grep is far faster than a byte loop here).
fn contains_any(file: &Path, patterns: &Path) -> anyhow::Result<bool> {
    let mut grep = Command::new("grep");
    grep.args(["-q", "-a", "-F", "-f"]).arg(patterns).arg(file);
    finds(grep, file)
}

/// A PEM private key: the label and the start of the base64 body every DER key begins with
/// (the binary may name the label alone, for parsing).
fn contains_multiline_marker(file: &Path) -> anyhow::Result<bool> {
    let mut grep = Command::new("grep");
    grep.args([
        "-q",
        "-a",
        "-z",
        "-P",
        r"PRIVATE KEY-----\r?\n(MI|MH|b3BlbnNzaC1rZXkt)",
    ])
    .arg(file);
    finds(grep, file)
}

/// Whether a quiet grep found its pattern in `file`.
fn finds(mut grep: Command, file: &Path) -> anyhow::Result<bool> {
    let status = grep
        .stdout(Stdio::null())
        .status()
        .context("running grep")?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => bail!("grep failed on {} ({status})", file.display()),
    }
}
