use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Stops calling a dependency that just failed, so that an outage costs requests nothing:
/// after a failure the circuit opens for `cooldown`; then one probe is let through, and
/// its success closes the circuit again. Logs one warning per outage.
#[derive(Debug)]
pub struct CircuitBreaker {
    name: &'static str,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    /// Calls are refused until the instant; the first caller after it is the probe.
    Open {
        until: Instant,
    },
}

impl CircuitBreaker {
    pub fn new(name: &'static str, cooldown: Duration) -> Self {
        Self {
            name,
            cooldown,
            state: Mutex::new(State::Closed),
        }
    }

    /// Whether a call may go ahead now. While open, only one probe per cooldown passes.
    pub fn allow(&self) -> bool {
        let mut state = self.lock();
        match *state {
            State::Closed => true,
            State::Open { until } if Instant::now() >= until => {
                *state = State::Open {
                    until: Instant::now() + self.cooldown,
                };
                true
            }
            State::Open { .. } => false,
        }
    }

    pub fn record_success(&self) {
        let mut state = self.lock();
        if *state != State::Closed {
            *state = State::Closed;
            tracing::info!(
                dependency = self.name,
                "dependency is reachable again; circuit closed"
            );
        }
    }

    pub fn record_failure(&self, error: &dyn std::fmt::Display) {
        let mut state = self.lock();
        if *state == State::Closed {
            tracing::warn!(dependency = self.name, %error, cooldown_ms = self.cooldown.as_millis() as u64, "dependency failed; bypassing it until it answers again");
        }
        *state = State::Open {
            until: Instant::now() + self.cooldown,
        };
    }

    pub fn is_open(&self) -> bool {
        *self.lock() != State::Closed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state itself is always valid.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_opens_the_circuit_and_one_probe_closes_it() {
        let breaker = CircuitBreaker::new("test", Duration::from_millis(30));
        assert!(breaker.allow());
        breaker.record_failure(&"boom");
        assert!(!breaker.allow(), "open right after a failure");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "one probe after the cooldown");
        assert!(!breaker.allow(), "only one probe");
        breaker.record_success();
        assert!(breaker.allow() && breaker.allow());
        assert!(!breaker.is_open());
    }

    #[test]
    fn a_failed_probe_keeps_it_open() {
        let breaker = CircuitBreaker::new("test", Duration::from_millis(20));
        breaker.record_failure(&"boom");
        std::thread::sleep(Duration::from_millis(25));
        assert!(breaker.allow());
        breaker.record_failure(&"still down");
        assert!(!breaker.allow());
    }
}
