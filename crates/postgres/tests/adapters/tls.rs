//! `sslmode` and `sslrootcert` against a PostgreSQL of the test's own that accepts only TLS,
//! with a certificate made for `localhost` by an authority of the test's own.

use diesel::sql_types::Bool;
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use trachios_postgres::{build_pool, connect, migrate, PoolSettings};
use trachios_test_support::{free_port, init_test_logging, TestCertificates, TlsPostgres};

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

const ENCRYPTED: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

async fn is_encrypted(conn: &mut AsyncPgConnection) -> Result<bool, String> {
    let rows: Vec<Encrypted> = diesel::sql_query(ENCRYPTED)
        .load(conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows.iter().any(|row| row.ssl))
}

/// Connects with `params` to `host`; whether the connection is encrypted, or why it failed.
async fn try_connect(server: &TlsPostgres, host: &str, params: &str) -> Result<bool, String> {
    let mut conn = connect(&server.url(host, params))
        .await
        .map_err(|e| e.to_string())?;
    is_encrypted(&mut conn).await
}

#[tokio::test]
async fn each_sslmode_checks_what_libpqs_checks() {
    init_test_logging();
    let dir = std::env::temp_dir().join(format!("trachios-pg-tls-{}", uuid::Uuid::new_v4()));
    let certs = TestCertificates::make(&dir).expect("certificates");
    let stranger = certs.stranger_ca().expect("a second authority");
    let server = TlsPostgres::start(&certs, &dir.join("data"), free_port().expect("a port"))
        .expect("a TLS PostgreSQL starts");
    let ca = certs.ca.display().to_string();
    let stranger = stranger.display().to_string();

    let full = format!("sslmode=verify-full&sslrootcert={ca}");
    assert_eq!(try_connect(&server, "localhost", &full).await, Ok(true));
    let by_address = try_connect(&server, "127.0.0.1", &full).await;
    assert!(
        by_address
            .as_ref()
            .is_err_and(|e| e.contains("not valid for name")),
        "a certificate for localhost is not one for 127.0.0.1: {by_address:?}"
    );
    let chain_only = format!("sslmode=verify-ca&sslrootcert={ca}");
    assert_eq!(
        try_connect(&server, "127.0.0.1", &chain_only).await,
        Ok(true)
    );
    // As libpq: `require` with a root named checks the chain too.
    let require_with_root = format!("sslmode=require&sslrootcert={stranger}");
    for refused in [
        format!("sslmode=verify-full&sslrootcert={stranger}"),
        format!("sslmode=verify-ca&sslrootcert={stranger}"),
        require_with_root,
        // Without a root named, Mozilla's roots, which never signed a test's certificate.
        "sslmode=verify-full".to_owned(),
    ] {
        let outcome = try_connect(&server, "localhost", &refused).await;
        assert!(
            outcome.as_ref().is_err_and(|e| e.contains("UnknownIssuer")),
            "{refused}: {outcome:?}"
        );
    }
    // Encrypted without checking, as libpq's `require` and `prefer` are.
    assert_eq!(
        try_connect(&server, "localhost", "sslmode=require").await,
        Ok(true)
    );
    assert_eq!(
        try_connect(&server, "127.0.0.1", "sslmode=prefer").await,
        Ok(true)
    );
    // The server lets no plain connection in, so `disable`, and a URL that names no
    // sslmode, really did not encrypt.
    for plain in ["sslmode=disable", ""] {
        let outcome = try_connect(&server, "localhost", plain).await;
        assert!(
            outcome.as_ref().is_err_and(|e| e.contains("no encryption")),
            "{plain}: {outcome:?}"
        );
    }

    // The service's own paths: migrations and the pool.
    let url = server.url("localhost", &full);
    migrate(&url).await.expect("migrations over verify-full");
    let pool = build_pool(&url, &PoolSettings::default()).expect("pool");
    let mut conn = pool.get().await.expect("a pooled connection");
    assert_eq!(is_encrypted(&mut conn).await, Ok(true));
    drop(conn);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
