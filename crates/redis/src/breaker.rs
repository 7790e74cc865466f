use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Whether `state` is `Closed`, readable without the lock: every cache call asks, and
    /// nearly always the answer is yes. Written only under the lock.
    closed: AtomicBool,
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
            closed: AtomicBool::new(true),
        }
    }

    /// Whether a call may go ahead now. While open, only one probe per cooldown passes.
    pub fn allow(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.lock();
        match *state {
            State::Closed => true,
            State::Open { until } if now >= until => {
                *state = State::Open {
                    until: now + self.cooldown,
                };
                true
            }
            State::Open { .. } => false,
        }
    }

    pub fn record_success(&self) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.lock();
        if *state != State::Closed {
            *state = State::Closed;
            self.closed.store(true, Ordering::Release);
            tracing::info!(
                dependency = self.name,
                "dependency is reachable again; circuit closed"
            );
        }
    }

    pub fn record_failure(&self, error: &dyn std::fmt::Display) {
        self.record_failure_at(error, Instant::now());
    }

    fn record_failure_at(&self, error: &dyn std::fmt::Display, now: Instant) {
        let mut state = self.lock();
        if *state == State::Closed {
            tracing::warn!(dependency = self.name, %error, cooldown_ms = self.cooldown.as_millis() as u64, "dependency failed; bypassing it until it answers again");
        }
        *state = State::Open {
            until: now + self.cooldown,
        };
        self.closed.store(false, Ordering::Release);
    }

    pub fn is_open(&self) -> bool {
        *self.lock() != State::Closed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::poison::lock(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(1);

    #[test]
    fn a_failure_opens_the_circuit_and_one_probe_closes_it() {
        let breaker = CircuitBreaker::new("test", COOLDOWN);
        let t0 = Instant::now();
        assert!(breaker.allow_at(t0));
        breaker.record_failure_at(&"boom", t0);
        assert!(
            !breaker.allow_at(t0 + COOLDOWN / 2),
            "open during the cooldown"
        );
        assert!(
            breaker.allow_at(t0 + COOLDOWN),
            "one probe once the cooldown is over"
        );
        assert!(
            !breaker.allow_at(t0 + COOLDOWN),
            "only one probe per cooldown"
        );
        breaker.record_success();
        assert!(breaker.allow_at(t0 + COOLDOWN) && breaker.allow_at(t0 + COOLDOWN));
        assert!(!breaker.is_open());
    }

    #[test]
    fn a_failed_probe_keeps_it_open_for_another_cooldown() {
        let breaker = CircuitBreaker::new("test", COOLDOWN);
        let t0 = Instant::now();
        breaker.record_failure_at(&"boom", t0);
        let probe = t0 + COOLDOWN;
        assert!(breaker.allow_at(probe));
        breaker.record_failure_at(&"still down", probe);
        assert!(!breaker.allow_at(probe + COOLDOWN / 2));
        assert!(breaker.is_open());
        assert!(breaker.allow_at(probe + COOLDOWN), "the next probe");
    }
}
