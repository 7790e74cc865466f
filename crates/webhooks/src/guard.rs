//! Which addresses a webhook may reach: the server must not become a way into the network
//! it runs in (loopback, private ranges, link-local, cloud metadata services).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use trachios_domain::{DomainError, WebhookUrl};
use url::{Host, Url};

/// How long resolving a host may take when a webhook is created.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether an address is on the public internet. IPv4 addresses mapped into or translated
/// to IPv6 are judged as the IPv4 address they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let reserved = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, where cloud metadata services answer
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18/15
        || a >= 240; // reserved, 240/4
    !reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let first = ip.segments()[0];
    let reserved = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7 (AWS metadata is fd00:ec2::254)
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0100 && ip.segments()[1..4] == [0, 0, 0] // discard, 100::/64
        // Local-use NAT64, 64:ff9b:1::/48 (RFC 8215): translates to IPv4 addresses of the
        // operator's choosing, wherever in the address they put them.
        || first == 0x0064 && ip.segments()[1] == 0xff9b && ip.segments()[2] == 0x0001
        // Teredo, 2001::/32: tunnels to an IPv4 host through a relay; no webhook needs it.
        || first == 0x2001 && ip.segments()[1] == 0;
    !reserved
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4
/// (`2002:AABB:CCDD::`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return Some(tail());
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(tail());
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Vets webhook destinations: when a webhook is created, and (through the resolver and
/// `check_literal`) at every delivery, since a name can be pointed elsewhere later.
#[derive(Debug, Clone, Copy)]
pub struct DestinationGuard {
    pub allow_private: bool,
}

impl DestinationGuard {
    /// Refuses a URL whose host is, or resolves to, an address that is not public.
    pub async fn vet(&self, url: &WebhookUrl) -> Result<(), DomainError> {
        let parsed = Url::parse(url.as_str())
            .map_err(|_| DomainError::Validation("url is not a valid URL".to_owned()))?;
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = match parsed.host() {
            None => return Err(DomainError::Validation("url must name a host".to_owned())),
            Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Some(Host::Domain(name)) => {
                let lookup = tokio::net::lookup_host((name, port));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.collect(),
                    _ => {
                        return Err(DomainError::Validation(
                            "url: its host could not be resolved".to_owned(),
                        ))
                    }
                }
            }
        };
        if addresses.is_empty() {
            return Err(DomainError::Validation(
                "url: its host could not be resolved".to_owned(),
            ));
        }
        if !self.allow_private && addresses.iter().any(|a| !is_public(a.ip())) {
            return Err(DomainError::Validation(
                "url must point to a public address, not a loopback, private, link-local or metadata one"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// At delivery, an address written into the URL itself (no name to resolve).
    pub(crate) fn check_literal(&self, url: &Url) -> Result<(), &'static str> {
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.allow_private || is_public(ip) {
            Ok(())
        } else {
            Err("destination refused: not a public address")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:0001::",
            "ff02::1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:169.254.169.254",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:ffff::5db8:d822",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001::1",
        ] {
            assert!(!is_public(ip(internal)), "{internal} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
            "::ffff:0:93.184.216.34",
            "64:ff9b::93.184.216.34",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    fn url(raw: &str) -> WebhookUrl {
        WebhookUrl::parse(raw).expect("a well-formed url")
    }

    #[tokio::test]
    async fn vetting_refuses_private_hosts_and_names_that_resolve_to_them() {
        let guard = DestinationGuard {
            allow_private: false,
        };
        for refused in [
            "http://127.0.0.1:8080/",
            "http://localhost/hook",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "https://10.0.0.5/",
        ] {
            let err = guard.vet(&url(refused)).await.err();
            assert!(
                matches!(&err, Some(DomainError::Validation(m)) if m.starts_with("url")),
                "{refused}: {err:?}"
            );
        }
        let unresolvable = guard.vet(&url("https://no-such-host.invalid/")).await;
        assert!(matches!(unresolvable, Err(DomainError::Validation(m)) if m.contains("resolved")));
        assert!(guard.vet(&url("https://93.184.216.34/")).await.is_ok());
    }

    #[tokio::test]
    async fn allowing_private_destinations_lets_local_receivers_in() {
        let guard = DestinationGuard {
            allow_private: true,
        };
        assert!(guard.vet(&url("http://127.0.0.1:9/")).await.is_ok());
        assert!(guard.vet(&url("http://localhost:9/")).await.is_ok());
    }
}
