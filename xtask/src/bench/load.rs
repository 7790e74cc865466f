//! Load generation: wrk when installed, else a built-in closed-loop client.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{percentile, ORDERS};

/// Load from wrk when it is installed (it leaves more of the two cores to the server),
/// else from the built-in client.
pub(super) async fn load(base: &str, token: &str, distinct_orders: bool) -> anyhow::Result<String> {
    if Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
    {
        return wrk(base, token, distinct_orders);
    }
    builtin_load(base, token, distinct_orders).await
}

fn wrk(base: &str, token: &str, distinct_orders: bool) -> anyhow::Result<String> {
    let script = std::env::temp_dir().join("trachios-bench.lua");
    let body = if distinct_orders {
        format!("local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, \"/api/v1/orders/\" .. (n % {ORDERS} + 1))\nend\n")
    } else {
        "request = function() return wrk.format(nil, \"/api/v1/orders/1\") end\n".to_owned()
    };
    std::fs::write(&script, body)?;
    let out = Command::new("wrk")
        .args([
            "-t1",
            "-c50",
            "-d8s",
            "--latency",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "-s",
        ])
        .arg(&script)
        .arg(base.trim_end_matches("/api/v1"))
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| "?".into())
    };
    let errors = field("Non-2xx or 3xx responses:");
    Ok(format!(
        "{:>7} req/s  p50 {:>8}  p99 {:>8}  (wrk, 1 thread; non-2xx: {})",
        field("Requests/sec:"),
        field("50%"),
        field("99%"),
        if errors == "?" {
            "0".to_owned()
        } else {
            errors
        }
    ))
}

/// Closed-loop load: 50 clients, each sending its next request when the last answered.
async fn builtin_load(base: &str, token: &str, distinct_orders: bool) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let next_id = Arc::new(std::sync::atomic::AtomicI64::new(1));
    let duration = Duration::from_secs(8);
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, base, token, next_id) = (
                client.clone(),
                base.to_owned(),
                token.to_owned(),
                next_id.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while started.elapsed() < duration {
                    let id = if distinct_orders {
                        next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % ORDERS + 1
                    } else {
                        1
                    };
                    let t0 = Instant::now();
                    match client
                        .get(format!("{base}/orders/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                    {
                        Ok(res) if res.status().is_success() => match res.bytes().await {
                            Ok(_) => latencies.push(t0.elapsed().as_secs_f64() * 1e3),
                            Err(_) => errors += 1,
                        },
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok(format!(
        "{:>7.0} req/s  p50 {:>5.2} ms  p99 {:>6.2} ms  ({} requests, {} errors)",
        all.len() as f64 / secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.len(),
        errors
    ))
}
