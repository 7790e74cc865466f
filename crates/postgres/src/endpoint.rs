//! Where and how to connect: a `postgres://` URL whose `sslmode` and `sslrootcert` mean what
//! they mean to libpq (and `psql`), which tokio-postgres alone does not understand.

use diesel::ConnectionError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio_postgres_rustls::MakeRustlsConnect;
use trachios_domain::error_chain;

use crate::tls::{client_config, RootsFrom, Verification};

/// libpq's `sslmode`, less `allow` (plain text first), which tokio-postgres cannot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    /// The default when the URL names none, unlike libpq's `prefer`: encryption that checks
    /// no certificate stops no one who can intercept, and costs a third of a simple query's
    /// throughput on loopback (docs/operations.md); TLS is asked for, as it was before.
    Disable,
    /// TLS when the server offers it, the certificate not checked.
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, EndpointError> {
        match value {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(EndpointError::SslMode(other.to_owned())),
        }
    }

    /// What tokio-postgres is told: it only decides whether TLS is attempted or required.
    fn negotiated(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require | Self::VerifyCa | Self::VerifyFull => "require",
        }
    }

    /// As libpq: `require` with a root certificate named checks the chain like `verify-ca`.
    fn verification(self, root_named: bool) -> Verification {
        match self {
            Self::VerifyFull => Verification::ChainAndName,
            Self::VerifyCa => Verification::Chain,
            Self::Require if root_named => Verification::Chain,
            Self::Disable | Self::Prefer | Self::Require => Verification::Nothing,
        }
    }
}

/// Why a database URL cannot be connected to as written.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "sslmode={0:?} is not supported: use disable, prefer, require, verify-ca or verify-full"
    )]
    SslMode(String),
    #[error("sslrootcert {path}: {reason}")]
    RootCert { path: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(String),
}

/// A database URL made ready to connect to: the TLS settings read (the root certificates
/// once, not per connection) and the URL rewritten to what tokio-postgres accepts.
#[derive(Clone)]
pub struct PgEndpoint {
    url: String,
    tls: Option<MakeRustlsConnect>,
}

impl std::fmt::Debug for PgEndpoint {
    // The URL may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEndpoint")
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl PgEndpoint {
    pub fn parse(database_url: &str) -> Result<Self, EndpointError> {
        let (base, query) = database_url.split_once('?').unwrap_or((database_url, ""));
        let mut mode = SslMode::Disable;
        let mut root_cert = None;
        // Every other parameter goes to tokio-postgres exactly as written.
        let mut kept: Vec<&str> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => mode = SslMode::parse(&decoded(value))?,
                "sslrootcert" => root_cert = Some(decoded(value)),
                _ => kept.push(pair),
            }
        }
        let negotiated = format!("sslmode={}", mode.negotiated());
        kept.push(&negotiated);
        let url = format!("{base}?{}", kept.join("&"));
        let tls = match mode {
            SslMode::Disable => None,
            _ => {
                let roots = match root_cert.as_deref() {
                    // libpq 16's word for the system's store; ours is Mozilla's, built in.
                    None | Some("system") => RootsFrom::WebPki,
                    Some(path) => RootsFrom::PemFile(path.into()),
                };
                let verification = mode.verification(root_cert.is_some());
                Some(MakeRustlsConnect::new(client_config(verification, &roots)?))
            }
        };
        Ok(Self { url, tls })
    }

    /// Whether connections are encrypted when the server allows it.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub async fn connect(&self) -> Result<AsyncPgConnection, ConnectionError> {
        let Some(tls) = &self.tls else {
            return AsyncPgConnection::establish(&self.url).await;
        };
        // tokio-postgres says only "error performing TLS handshake"; what failed (an unknown
        // issuer, a name that does not match) is in the sources, and is what operators need.
        let (client, connection) = tokio_postgres::connect(&self.url, tls.clone())
            .await
            .map_err(|e| ConnectionError::BadConnection(error_chain(&e)))?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await
    }
}

fn decoded(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

/// One connection to `database_url`, with its TLS settings honoured.
pub async fn connect(database_url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    let endpoint = PgEndpoint::parse(database_url)
        .map_err(|e| ConnectionError::InvalidConnectionUrl(e.to_string()))?;
    endpoint.connect().await
}

impl From<crate::tls::TlsSetupError> for EndpointError {
    fn from(e: crate::tls::TlsSetupError) -> Self {
        match e {
            crate::tls::TlsSetupError::RootCert { path, reason } => Self::RootCert {
                path: path.display().to_string(),
                reason,
            },
            crate::tls::TlsSetupError::Rustls(reason) => Self::Tls(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_keeps_its_other_parameters_and_tells_tokio_postgres_only_what_it_knows() {
        let e = PgEndpoint::parse(
            "postgres://u:p@h1:5432,h2:5433/db?options=-c%20a%3Db+c&sslmode=verify-ca&sslrootcert=system",
        )
        .unwrap();
        assert_eq!(
            e.url,
            "postgres://u:p@h1:5432,h2:5433/db?options=-c%20a%3Db+c&sslmode=require"
        );
        assert!(e.uses_tls());
    }

    #[test]
    fn without_an_sslmode_there_is_no_tls_and_prefer_offers_it() {
        let default = PgEndpoint::parse("postgres://h/db").unwrap();
        assert_eq!(default.url, "postgres://h/db?sslmode=disable");
        assert!(!default.uses_tls());
        let prefer = PgEndpoint::parse("postgres://h/db?sslmode=prefer").unwrap();
        assert_eq!(prefer.url, "postgres://h/db?sslmode=prefer");
        assert!(prefer.uses_tls());
    }

    #[test]
    fn unknown_modes_and_missing_root_files_are_refused_by_name() {
        let mode = PgEndpoint::parse("postgres://h/db?sslmode=allow").unwrap_err();
        assert!(mode.to_string().contains("\"allow\""), "{mode}");
        let missing = PgEndpoint::parse(
            "postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        )
        .unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
    }

    #[test]
    fn require_checks_the_chain_once_a_root_is_named_as_libpq_does() {
        assert_eq!(SslMode::Require.verification(false), Verification::Nothing);
        assert_eq!(SslMode::Require.verification(true), Verification::Chain);
        assert_eq!(SslMode::VerifyCa.verification(false), Verification::Chain);
        assert_eq!(
            SslMode::VerifyFull.verification(false),
            Verification::ChainAndName
        );
    }
}
