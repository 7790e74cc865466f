//! Load generation: wrk when installed, else a built-in closed-loop client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{percentile, ORDERS};

/// What the load asks for: one path again and again, or every order of the cache
/// benchmark in turn (so that each read is a different order).
#[derive(Debug, Clone)]
pub(super) enum Target {
    /// A path under `/api/v1`, with its query.
    Path(String),
    EveryOrder,
}

impl Target {
    fn path(&self, n: i64) -> String {
        match self {
            Target::Path(path) => format!("/api/v1{path}"),
            Target::EveryOrder => format!("/api/v1/orders/{}", n % ORDERS + 1),
        }
    }

    fn wrk_script(&self) -> String {
        match self {
            Target::Path(path) => {
                format!("request = function() return wrk.format(nil, \"/api/v1{path}\") end\n")
            }
            Target::EveryOrder => format!(
                "local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, \"/api/v1/orders/\" .. (n % {ORDERS} + 1))\nend\n"
            ),
        }
    }
}

/// Load from wrk when it is installed (it leaves more of the two cores to the server),
/// else from the built-in client. `base` ends in `/api/v1`.
pub(super) async fn load(base: &str, token: &str, target: Target) -> anyhow::Result<String> {
    if !super::wrk::installed() {
        return builtin_load(base, token, target).await;
    }
    let figures = super::wrk::WrkRun {
        origin: base.trim_end_matches("/api/v1"),
        connections: 50,
        seconds: 8,
        token: Some(token),
        script: target.wrk_script(),
    }
    .run()?;
    Ok(format!("{figures}  (wrk, 1 thread)"))
}

/// Closed-loop load: 50 clients, each sending its next request when the last answered.
async fn builtin_load(base: &str, token: &str, target: Target) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let origin = base.trim_end_matches("/api/v1").to_owned();
    let next = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let duration = Duration::from_secs(8);
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, origin, token, next, target) = (
                client.clone(),
                origin.clone(),
                token.to_owned(),
                next.clone(),
                target.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while started.elapsed() < duration {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let t0 = Instant::now();
                    match client
                        .get(format!("{origin}{}", target.path(n)))
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
