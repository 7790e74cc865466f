//! A Redis URL made ready to connect to: `rediss://` with the certificate checked against
//! Mozilla's roots, or against the PEM file named by `sslrootcert` (the name libpq gives the
//! same setting, so one deployment writes both URLs alike).

use redis::{ConnectionInfo, IntoConnectionInfo, TlsCertificates};

/// Why a Redis URL cannot be connected to as written.
#[derive(Debug, thiserror::Error)]
pub enum RedisEndpointError {
    #[error("sslrootcert is only meaningful with rediss://")]
    RootCertWithoutTls,
    #[error("sslrootcert {path}: {source}")]
    RootCert {
        path: String,
        #[source]
        source: std::io::Error,
    },
    // The redis crate's own messages never include the URL's password.
    #[error("invalid Redis URL: {0}")]
    Url(#[source] redis::RedisError),
}

/// Everything a client or pool needs to reach the Redis at `url`.
pub fn connection_info(url: &str) -> Result<ConnectionInfo, RedisEndpointError> {
    // The redis crate's connections take the process's default rustls provider; ring is the
    // one built in. Installing fails only when one is already set, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut root_cert = None;
    // Every other parameter goes to the redis crate exactly as written.
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslrootcert", value)) => {
                root_cert = Some(
                    percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let Some(path) = root_cert else {
        return url
            .as_str()
            .into_connection_info()
            .map_err(RedisEndpointError::Url);
    };
    if !base.starts_with("rediss://") {
        return Err(RedisEndpointError::RootCertWithoutTls);
    }
    let pem = std::fs::read(&path).map_err(|source| RedisEndpointError::RootCert {
        path: path.clone(),
        source,
    })?;
    let certificates = TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    let client = redis::Client::build_with_tls(url.as_str(), certificates)
        .map_err(RedisEndpointError::Url)?;
    Ok(client.get_connection_info().clone())
}

/// A client for one-off connections (tools, tests) with the same TLS settings as the cache.
pub fn client(url: &str) -> Result<redis::Client, RedisEndpointError> {
    redis::Client::open(connection_info(url)?).map_err(RedisEndpointError::Url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_certificate_needs_tls_and_a_readable_file() {
        assert!(matches!(
            connection_info("redis://h/?sslrootcert=/tmp/ca.pem"),
            Err(RedisEndpointError::RootCertWithoutTls)
        ));
        let missing = connection_info("rediss://h/?sslrootcert=/nonexistent/ca.pem").unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
    }

    #[test]
    fn plain_and_tls_urls_keep_their_address_and_database() {
        let plain = connection_info("redis://h:6390/2").unwrap();
        assert_eq!(plain.addr().to_string(), "h:6390");
        assert_eq!(plain.redis_settings().db(), 2);
        let tls = connection_info("rediss://h:6390/").unwrap();
        assert!(matches!(tls.addr(), redis::ConnectionAddr::TcpTls { .. }));
    }
}
