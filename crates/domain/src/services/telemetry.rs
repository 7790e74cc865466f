//! Business metrics, through the `metrics` facade: free until the server installs a
//! recorder, and then counted where each change is made, once.

use chrono::Duration;

use crate::{ActorKind, OrderStatus};

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
