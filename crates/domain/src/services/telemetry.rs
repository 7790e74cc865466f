//! Business metrics, through the `metrics` facade: free until the server installs a
//! recorder, and then counted where each change is made, once.

use chrono::Duration;

use crate::{ActorKind, NextStep, OrderStatus};

/// One order entered `to` through this process (its creation being the entry to `created`).
pub(crate) fn order_transition(actor: ActorKind, to: OrderStatus) {
    metrics::counter!(
        "trachios_order_transitions_total",
        "actor" => actor.as_str(),
        "to" => to.as_str(),
    )
    .increment(1);
}

/// An automatic step ran this long after it was due.
pub(crate) fn lifecycle_lag(lag: Duration) {
    let seconds = lag
        .num_microseconds()
        .map_or(f64::MAX, |us| us as f64 / 1e6);
    metrics::histogram!("trachios_lifecycle_lag_seconds").record(seconds.max(0.0));
}

/// One webhook delivery attempt made by this process, by what follows from it.
pub(crate) fn webhook_attempt(next: NextStep) {
    let result = match next {
        NextStep::Delivered => "delivered",
        NextStep::RetryAt(_) => "retry",
        NextStep::GaveUp => "gave_up",
    };
    metrics::counter!("trachios_webhook_attempts_total", "result" => result).increment(1);
}
