//! One run of wrk (one thread, the client's share of the two cores kept small) and the
//! figures it printed.

use std::process::Command;

use anyhow::{bail, Context};

/// What wrk sends: a method, a path, a body, headers, over `connections` connections.
pub(super) struct WrkRun<'a> {
    pub origin: &'a str,
    pub connections: u32,
    pub seconds: u32,
    pub token: Option<&'a str>,
    /// The Lua script that shapes each request (see `get`, `post_json`, `every_order`).
    pub script: String,
}

/// Throughput and latency as wrk measured them.
#[derive(Debug, Clone, Copy)]
pub(super) struct WrkFigures {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses with a status other than 2xx or 3xx, and socket errors: a run with any
    /// of these measured something else than the path it names.
    pub failures: u64,
}

impl std::fmt::Display for WrkFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            self.requests_per_second, self.p50_ms, self.p99_ms
        )?;
        if self.failures > 0 {
            write!(f, "  ({} FAILED)", self.failures)?;
        }
        Ok(())
    }
}

/// A script asking for `path` again and again.
pub(super) fn get(path: &str) -> String {
    format!("request = function() return wrk.format(\"GET\", \"{path}\") end\n")
}

/// A script posting the same JSON body to `path` again and again.
pub(super) fn post_json(path: &str, body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.body = [[{body}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         request = function() return wrk.format(nil, \"{path}\") end\n"
    )
}

pub(super) fn installed() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

impl WrkRun<'_> {
    pub(super) fn run(&self) -> anyhow::Result<WrkFigures> {
        let script = std::env::temp_dir().join(format!(
            "trachios-bench-{}-{}.lua",
            std::process::id(),
            self.connections
        ));
        std::fs::write(&script, &self.script)?;
        let mut cmd = Command::new("wrk");
        cmd.args(["-t1", "--latency"])
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.seconds))
            .arg("-s")
            .arg(&script);
        if let Some(token) = self.token {
            cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        let out = cmd.arg(self.origin).output().context("running wrk")?;
        let _ = std::fs::remove_file(&script);
        if !out.status.success() {
            bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        parse(&String::from_utf8_lossy(&out.stdout))
    }
}

fn parse(text: &str) -> anyhow::Result<WrkFigures> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
    };
    let requests_per_second = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("wrk printed no rate:\n{text}"))?;
    let latency = |p: &str| {
        field(p)
            .and_then(milliseconds)
            .with_context(|| format!("wrk printed no {p} latency:\n{text}"))
    };
    // "Socket errors: connect 0, read 0, write 0, timeout 12"
    let socket_errors: u64 = field("Socket errors:")
        .map(|v| {
            v.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(WrkFigures {
        requests_per_second,
        p50_ms: latency("50%")?,
        p99_ms: latency("99%")?,
        failures: socket_errors + non_2xx,
    })
}

/// wrk's latencies: "812.00us", "1.23ms", "1.02s", "2.00m".
fn milliseconds(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 8s test @ http://127.0.0.1:1\n  1 threads and 50 connections\n  \
        Latency Distribution\n     50%    1.21ms\n     75%  812.00us\n     90%    2.00ms\n     99%    1.02s\n  \
        213000 requests in 8.00s, 90.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 3\n  \
        Non-2xx or 3xx responses: 4\nRequests/sec:  26625.10\nTransfer/sec:     11.25MB\n";

    #[test]
    fn reads_the_rate_the_latencies_in_any_unit_and_every_failure() {
        let figures = parse(SAMPLE).unwrap();
        assert_eq!(figures.requests_per_second, 26625.10);
        assert_eq!(figures.p50_ms, 1.21);
        assert_eq!(figures.p99_ms, 1020.0);
        assert_eq!(figures.failures, 9);
    }

    #[test]
    fn output_without_a_rate_is_an_error_not_a_zero() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
    }
}
