//! Which address a request comes from: the TCP peer, unless the peer is a proxy we trust,
//! in which case `X-Forwarded-For` says — read from the right, past every trusted proxy,
//! because only the entries our own proxies appended can be believed.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::{web, FromRequest, HttpRequest};
use ipnet::IpNet;

/// The address a request comes from, as `TrustedProxies` decides it; `None` only when the
/// request has no peer (in-process tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub Option<IpAddr>);

impl FromRequest for ClientIp {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(ClientIp(client_ip_of(req))))
    }
}

/// The address a request comes from (see `ClientIp`).
pub(crate) fn client_ip_of(req: &HttpRequest) -> Option<IpAddr> {
    match req.app_data::<web::Data<TrustedProxies>>() {
        Some(proxies) => proxies.client_ip(req),
        // No proxies configured: the peer is the client.
        None => req.peer_addr().map(|peer| canonical(peer.ip())),
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address; `None` only when the request has no peer (in-process tests).
    fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for entry in forwarded.into_iter().rev() {
            // Garbage from beyond our proxies cannot be attributed; the last proxy is.
            let Ok(ip) = entry.parse::<IpAddr>().map(canonical) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// An IPv4 client seen through an IPv6 socket is still that IPv4 client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|n| n.parse().expect("a network")).collect())
    }

    fn from(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut req =
            TestRequest::default().peer_addr(format!("{peer}:4000").parse().expect("addr"));
        if let Some(value) = forwarded {
            req = req.insert_header(("x-forwarded-for", value));
        }
        req.to_http_request()
    }

    fn ip(raw: &str) -> Option<IpAddr> {
        raw.parse().ok()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let req = from("203.0.113.9", Some("1.2.3.4"));
        assert_eq!(proxies(&[]).client_ip(&req), ip("203.0.113.9"));
        assert_eq!(proxies(&["10.0.0.0/8"]).client_ip(&req), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        // The client put a fake entry first; our proxies appended the real one and themselves.
        let req = from("10.0.0.2", Some("6.6.6.6, 198.51.100.7, 10.0.0.1"));
        assert_eq!(trusted.client_ip(&req), ip("198.51.100.7"));
        let garbage = from("10.0.0.2", Some("not-an-ip"));
        assert_eq!(trusted.client_ip(&garbage), ip("10.0.0.2"));
        let none = from("10.0.0.2", None);
        assert_eq!(trusted.client_ip(&none), ip("10.0.0.2"));
    }
}
