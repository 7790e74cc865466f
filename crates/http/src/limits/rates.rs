//! Request rates per client, kept in this process (GCRA: a burst of the limit, then one
//! request every period / limit), each limit holding at most `MAX_TRACKED_KEYS` clients.

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use trachios_domain::{DomainError, UserId};

use super::gcra::Gcra;

/// Clients one limit tracks at most; past it the one closest to a full allowance is
/// forgotten, so a flood of distinct keys (addresses, emails) cannot grow memory.
const MAX_TRACKED_KEYS: usize = 100_000;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// How many requests each limit allows; `0` turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatesPerMinute {
    pub login: u32,
    pub auth: u32,
    pub orders: u32,
    /// Failed logins per account per hour, from every address together.
    pub login_failures_per_hour: u32,
}

/// One keyed limit, or none when it is turned off.
struct Limit<K> {
    gcra: Option<Gcra<K>>,
}

impl<K: std::hash::Hash + Eq + Ord + Clone> Limit<K> {
    fn new(n: u32, period: Duration) -> Self {
        Self {
            gcra: (n > 0).then(|| Gcra::new(n, period, MAX_TRACKED_KEYS)),
        }
    }

    fn spend(&self, key: &K) -> Result<(), DomainError> {
        match &self.gcra {
            Some(gcra) => gcra.spend(key, Instant::now()).map_err(limited),
            None => Ok(()),
        }
    }

    fn peek(&self, key: &K) -> Result<(), DomainError> {
        match &self.gcra {
            Some(gcra) => gcra.peek(key, Instant::now()).map_err(limited),
            None => Ok(()),
        }
    }

    fn forget_idle(&self) {
        if let Some(gcra) = &self.gcra {
            gcra.forget_idle(Instant::now());
        }
    }
}

fn limited(retry_after: Duration) -> DomainError {
    DomainError::RateLimited { retry_after }
}

/// The request-rate limits of the contract.
pub struct RateLimits {
    login: Limit<(IpAddr, String)>,
    auth: Limit<IpAddr>,
    orders: Limit<UserId>,
    failures: Limit<String>,
}

/// Emails longer than any valid address are cut here: the key stays small, and such a
/// login fails anyway.
const MAX_EMAIL_KEY: usize = 255;

impl RateLimits {
    pub fn new(rates: RatesPerMinute) -> Self {
        Self {
            login: Limit::new(rates.login, MINUTE),
            auth: Limit::new(rates.auth, MINUTE),
            orders: Limit::new(rates.orders, MINUTE),
            failures: Limit::new(rates.login_failures_per_hour, HOUR),
        }
    }

    /// `POST /register`: per client network.
    pub(crate) fn check_register(&self, ip: Option<IpAddr>) -> Result<(), DomainError> {
        match ip {
            Some(ip) => self.auth.spend(&network_of(ip)),
            None => Ok(()),
        }
    }

    /// `POST /login` (and whatever else tries a password): per client network, then per
    /// network and email (so that guessing one account's password from one place stops
    /// early, while its owner can still log in from another), then whether the account
    /// has had too many failures from anywhere.
    pub(crate) fn check_login(&self, ip: Option<IpAddr>, email: &str) -> Result<(), DomainError> {
        let email = email_key(email);
        if let Some(ip) = ip {
            let network = network_of(ip);
            self.auth.spend(&network)?;
            self.login.spend(&(network, email.clone()))?;
        }
        self.failures.peek(&email)
    }

    /// A password tried for the account was wrong.
    pub(crate) fn login_failed(&self, email: &str) {
        // Past the limit the account is refused already; the failure adds nothing.
        let _ = self.failures.spend(&email_key(email));
    }

    /// `POST /orders`: per user.
    pub(crate) fn check_order(&self, user: UserId) -> Result<(), DomainError> {
        self.orders.spend(&user)
    }

    /// Drops the state of clients that are back to a full allowance; call it now and then.
    pub fn forget_idle(&self) {
        self.login.forget_idle();
        self.auth.forget_idle();
        self.orders.forget_idle();
        self.failures.forget_idle();
    }
}

/// An email as the limits (and the security log) key it: trimmed, lower-cased, bounded.
pub(crate) fn email_key(email: &str) -> String {
    email
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_EMAIL_KEY)
        .collect()
}

/// What one client is counted as: an IPv4 address, or an IPv6 address's /64 — the block
/// one subscriber (one home, one server) is given, every address of which they can use.
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !(u128::from(u64::MAX));
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

/// How often `forget_idle` is worth running: a client idle for a minute is back to its
/// full allowance under every per-minute limit.
pub const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(login: u32, auth: u32, orders: u32) -> RateLimits {
        RateLimits::new(RatesPerMinute {
            login,
            auth,
            orders,
            login_failures_per_hour: 0,
        })
    }

    fn ip(raw: &str) -> Option<IpAddr> {
        raw.parse().ok()
    }

    #[test]
    fn login_attempts_are_limited_per_network_and_email() {
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
            "another IPv4 address"
        );
        assert!(
            limits.check_login(ip("10.0.0.1"), "ann@x.io").is_ok(),
            "another email"
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let limits = limits(3, 100, 0);
        for n in 1..=3 {
            let address = format!("2001:db8:1:2::{n:x}");
            assert!(limits.check_login(ip(&address), "jo@x.io").is_ok());
        }
        assert!(
            limits
                .check_login(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), "jo@x.io")
                .is_err(),
            "another address of the same /64"
        );
        assert!(
            limits.check_login(ip("2001:db8:1:3::1"), "jo@x.io").is_ok(),
            "the next /64"
        );
    }

    #[test]
    fn failures_count_per_account_from_every_address_and_only_failures_count() {
        let limits = RateLimits::new(RatesPerMinute {
            login: 0,
            auth: 0,
            orders: 0,
            login_failures_per_hour: 3,
        });
        for n in 1..=10 {
            // Attempts that do not fail spend nothing.
            assert!(limits
                .check_login(ip(&format!("10.0.0.{n}")), "jo@x.io")
                .is_ok());
        }
        for n in 1..=3 {
            assert!(limits
                .check_login(ip(&format!("10.1.0.{n}")), "jo@x.io")
                .is_ok());
            limits.login_failed("Jo@x.io");
        }
        let refused = limits.check_login(ip("192.0.2.9"), "jo@x.io").unwrap_err();
        let DomainError::RateLimited { retry_after } = refused else {
            panic!("{refused:?}");
        };
        assert!(
            retry_after <= Duration::from_secs(1200),
            "never locked for longer than one allowance comes back: {retry_after:?}"
        );
        assert!(limits.check_login(ip("192.0.2.9"), "ann@x.io").is_ok());
    }

    #[test]
    fn logins_and_registrations_share_the_per_network_limit() {
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
            limits.login_failed("a@x.io");
            assert!(limits.check_order(user).is_ok());
        }
    }
}
