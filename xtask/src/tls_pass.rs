//! The suite's pass over TLS: a PostgreSQL and a Redis of this run's own that accept only
//! TLS, with certificates made for the run, reached with `sslmode=verify-full` and
//! `rediss://`, both checked against the run's authority.

use std::path::PathBuf;

use anyhow::anyhow;
use trachios_test_support::{free_port, TestCertificates, TlsPostgres, TlsRedis};

pub struct TlsStack {
    pub postgres_url: String,
    pub redis_url: String,
    // Dropped before the directory holding their files is removed.
    postgres: Option<TlsPostgres>,
    redis: Option<TlsRedis>,
    dir: PathBuf,
}

impl TlsStack {
    pub fn start() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("trachios-xtask-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let certs = TestCertificates::make(&dir).map_err(|e| anyhow!(e))?;
        let postgres = TlsPostgres::start(
            &certs,
            &dir.join("postgres"),
            free_port().map_err(|e| anyhow!(e))?,
        )
        .map_err(|e| anyhow!("the TLS PostgreSQL: {e}"))?;
        let redis = TlsRedis::start(&certs, free_port().map_err(|e| anyhow!(e))?)
            .map_err(|e| anyhow!("the TLS Redis: {e}"))?;
        let ca = certs.ca.display();
        Ok(Self {
            postgres_url: postgres.url(
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            redis_url: redis.url("localhost", &format!("sslrootcert={ca}")),
            postgres: Some(postgres),
            redis: Some(redis),
            dir,
        })
    }
}

impl Drop for TlsStack {
    fn drop(&mut self) {
        self.postgres.take();
        self.redis.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
