//! Request rates per client, kept in this process (governor's GCRA: a burst of the
//! limit, then one request every 60 s / limit).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use trachios_domain::{DomainError, UserId};

/// Keys one limiter tracks before it forgets idle ones; a flood of distinct keys (many IPs
/// or emails) cannot grow memory past about this many entries.
const MAX_TRACKED_KEYS: usize = 100_000;

/// How many requests per minute each limit allows; `0` turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatesPerMinute {
    pub login: u32,
    pub auth: u32,
    pub orders: u32,
}

/// One keyed limit, or none when it is turned off.
struct Limit<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn per_minute(n: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(n)
                .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    fn check(&self, key: &K) -> Result<(), DomainError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() >= MAX_TRACKED_KEYS {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| DomainError::RateLimited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The request-rate limits of the contract.
pub struct RateLimits {
    login: Limit<(IpAddr, String)>,
    auth: Limit<IpAddr>,
    orders: Limit<UserId>,
}

/// Emails longer than any valid address are cut here: the key stays small, and such a
/// login fails anyway.
const MAX_EMAIL_KEY: usize = 255;

impl RateLimits {
    pub fn new(rates: RatesPerMinute) -> Self {
        Self {
            login: Limit::per_minute(rates.login),
            auth: Limit::per_minute(rates.auth),
            orders: Limit::per_minute(rates.orders),
        }
    }

    /// `POST /register`: per client IP.
    pub(crate) fn check_register(&self, ip: Option<IpAddr>) -> Result<(), DomainError> {
        match ip {
            Some(ip) => self.auth.check(&ip),
            None => Ok(()),
        }
    }

    /// `POST /login`: per client IP, then per IP and email (so that guessing one account's
    /// password from one place stops early, while its owner can still log in from another).
    pub(crate) fn check_login(&self, ip: Option<IpAddr>, email: &str) -> Result<(), DomainError> {
        let Some(ip) = ip else {
            return Ok(());
        };
        self.auth.check(&ip)?;
        let email: String = email
            .trim()
            .to_lowercase()
            .chars()
            .take(MAX_EMAIL_KEY)
            .collect();
        self.login.check(&(ip, email))
    }

    /// `POST /orders`: per user.
    pub(crate) fn check_order(&self, user: UserId) -> Result<(), DomainError> {
        self.orders.check(&user)
    }

    /// Drops the state of clients that are back to a full allowance; call it now and then.
    pub fn forget_idle(&self) {
        self.login.forget_idle();
        self.auth.forget_idle();
        self.orders.forget_idle();
    }
}

/// How often `forget_idle` is worth running: a client idle for a minute is back to its
/// full allowance under every limit.
pub const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(login: u32, auth: u32, orders: u32) -> RateLimits {
        RateLimits::new(RatesPerMinute {
            login,
            auth,
            orders,
        })
    }

    fn ip(raw: &str) -> Option<IpAddr> {
        raw.parse().ok()
    }

    #[test]
    fn login_attempts_are_limited_per_ip_and_email_not_per_account() {
        let limits = limits(3, 100, 0);
        for _ in 0..3 {
            assert!(limits.check_login(ip("10.0.0.1"), "Jo@x.io").is_ok());
        }
        let refused = limits.check_login(ip("10.0.0.1"), "jo@x.io ").unwrap_err();
        let DomainError::RateLimited { retry_after } = refused else {
            panic!("{refused:?}");
        };
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(20));
        assert!(
            limits.check_login(ip("10.0.0.2"), "jo@x.io").is_ok(),
            "another IP"
        );
        assert!(
            limits.check_login(ip("10.0.0.1"), "ann@x.io").is_ok(),
            "another email"
        );
    }

    #[test]
    fn logins_and_registrations_share_the_per_ip_limit() {
        let limits = limits(100, 2, 0);
        assert!(limits.check_register(ip("10.0.0.1")).is_ok());
        assert!(limits.check_login(ip("10.0.0.1"), "a@x.io").is_ok());
        assert!(limits.check_register(ip("10.0.0.1")).is_err());
        assert!(limits.check_login(ip("10.0.0.1"), "b@x.io").is_err());
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = limits(0, 0, 0);
        let user = UserId::parse(7).expect("positive");
        for _ in 0..1000 {
            assert!(limits.check_login(ip("10.0.0.1"), "a@x.io").is_ok());
            assert!(limits.check_order(user).is_ok());
        }
    }
}
