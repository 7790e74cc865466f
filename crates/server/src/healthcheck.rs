//! `trachios-server healthcheck`: the container's health probe, so that the image needs no
//! shell or HTTP client of its own. It asks the service in the same container what a load
//! balancer asks: whether `/ready` answers 200.

use std::net::IpAddr;
use std::time::Duration;

use crate::Settings;

/// Shorter than the image's `HEALTHCHECK --timeout`, so that the probe reports its own
/// failure rather than being killed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the service this configuration describes is ready, with what it answered.
pub async fn probe(settings: &Settings) -> Result<String, String> {
    let url = ready_url(&settings.server.host, settings.server.port);
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::OK {
        Ok(body)
    } else {
        Err(format!("{url}: {status} {body}"))
    }
}

/// The listener's own address, or this machine's loopback when it listens on every address.
fn ready_url(host: &str, port: u16) -> String {
    let host = match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        _ => host.to_owned(),
    };
    format!("http://{host}:{port}/ready")
}

#[cfg(test)]
mod tests {
    use super::ready_url;

    #[test]
    fn every_address_is_probed_on_loopback_and_a_chosen_one_as_it_is() {
        assert_eq!(ready_url("0.0.0.0", 8080), "http://127.0.0.1:8080/ready");
        assert_eq!(ready_url("::", 8080), "http://127.0.0.1:8080/ready");
        assert_eq!(ready_url("::1", 9000), "http://[::1]:9000/ready");
        assert_eq!(ready_url("10.0.0.5", 80), "http://10.0.0.5:80/ready");
        assert_eq!(ready_url("localhost", 80), "http://localhost:80/ready");
    }
}
