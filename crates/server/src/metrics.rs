//! The process's Prometheus recorder: installed once, rendered by `/metrics`.

use std::sync::{Arc, OnceLock};

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::Backend;

/// Request latencies: from a cached read (about a millisecond) to a saturated hash queue.
const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How late an automatic step ran: the worker polls every 5–250 ms, so anything past a
/// second means it cannot keep up.
const LAG_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Orders per creation batch (see `trachios_postgres`'s `order_batches`): 1 when idle.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// The recorder is global to the process (the `metrics` facade has one); tests build
/// several services in one process, and they share it.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("trachios_http_request_duration_seconds".into()),
                REQUEST_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("trachios_lifecycle_lag_seconds".into()),
                    LAG_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("trachios_order_insert_batch_size".into()),
                    BATCH_BUCKETS,
                )
            });
        let recorder = match builder {
            Ok(builder) => builder.build_recorder(),
            // Only an empty bucket list fails, and ours are constants.
            Err(err) => {
                tracing::error!(error = %err, "histogram buckets refused; using summaries");
                PrometheusBuilder::new().build_recorder()
            }
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(
        "trachios_http_requests_total",
        "HTTP requests answered, by method, route pattern and status"
    );
    describe_histogram!(
        "trachios_http_request_duration_seconds",
        Unit::Seconds,
        "Time to the response head, by route pattern (streams: until the stream opened)"
    );
    describe_counter!(
        "trachios_cache_operations_total",
        "Order cache reads by result: hit, miss, error (Redis failed or timed out), skipped (circuit open)"
    );
    describe_counter!(
        "trachios_order_transitions_total",
        "Order status changes made by this process, by actor and new status (creation included)"
    );
    describe_histogram!(
        "trachios_lifecycle_lag_seconds",
        Unit::Seconds,
        "How long after it was due each automatic step ran"
    );
    describe_histogram!(
        "trachios_order_insert_batch_size",
        "Orders stored per creation transaction: concurrent creations share one"
    );
    describe_counter!(
        "trachios_webhook_attempts_total",
        "Webhook delivery attempts made by this process, by outcome: delivered, retry, gave_up"
    );
    describe_gauge!(
        "trachios_db_pool_connections",
        "Database pool connections: open, idle, in_use, max; waiting: requests queued for one"
    );
    for result in ["hit", "miss", "error", "skipped"] {
        metrics::counter!("trachios_cache_operations_total", "result" => result).increment(0);
    }
    for result in ["delivered", "retry", "gave_up"] {
        metrics::counter!("trachios_webhook_attempts_total", "result" => result).increment(0);
    }
}

/// What `/metrics` answers for this service: the pool as it is now, then every family.
pub fn renderer(backend: Backend) -> Arc<dyn Fn() -> String + Send + Sync> {
    let handle = recorder();
    Arc::new(move || {
        let pool = backend.pool_counts();
        for (state, count) in [
            ("open", pool.open),
            ("idle", pool.idle),
            ("in_use", pool.open.saturating_sub(pool.idle)),
            ("max", pool.max),
            ("waiting", pool.waiting),
        ] {
            metrics::gauge!("trachios_db_pool_connections", "state" => state).set(count as f64);
        }
        handle.render()
    })
}

/// Histogram samples wait in the recorder until folded into their buckets; folding them
/// every few seconds keeps that memory small between scrapes, however busy the process.
pub async fn upkeep() {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        recorder().run_upkeep();
    }
}
