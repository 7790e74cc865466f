//! Connection URLs from the Go service's split variables, built with `url::Url` so that
//! every part is encoded as the URL syntax requires.

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{CacheConfig, DatabaseSettings};

/// `DATABASE_URL`, or `postgres://USER:PASSWORD@HOST:PORT/DB` from the split variables.
pub(super) fn database_url(db: &DatabaseSettings) -> Result<SecretString, String> {
    if let Some(url) = &db.url {
        return Ok(url.clone());
    }
    let mut url = base("postgres", &db.host, db.port)?;
    url.set_username(&db.user)
        .map_err(|()| "POSTGRES_USER cannot be put in a URL".to_owned())?;
    if let Some(password) = &db.password {
        url.set_password(Some(password.expose_secret()))
            .map_err(|()| "POSTGRES_PASSWORD cannot be put in a URL".to_owned())?;
    }
    url.path_segments_mut()
        .map_err(|()| "POSTGRES_HOST does not make a URL with a path".to_owned())?
        .pop_if_empty()
        .push(&db.name);
    for (key, value) in [("sslmode", &db.sslmode), ("sslrootcert", &db.sslrootcert)] {
        if let Some(value) = value {
            url.query_pairs_mut().append_pair(key, value);
        }
    }
    Ok(SecretString::from(String::from(url)))
}

/// `REDIS_URL`, or `redis://:PASSWORD@HOST:PORT/` from the split variables.
pub(super) fn redis_url(cache: &CacheConfig) -> Result<SecretString, String> {
    if let Some(url) = &cache.redis_url {
        return Ok(url.clone());
    }
    let mut url = base("redis", &cache.redis_host, cache.redis_port)?;
    if let Some(password) = &cache.redis_password {
        url.set_password(Some(password.expose_secret()))
            .map_err(|()| "REDIS_PASSWORD cannot be put in a URL".to_owned())?;
    }
    Ok(SecretString::from(String::from(url)))
}

fn base(scheme: &str, host: &str, port: u16) -> Result<Url, String> {
    let mut url = Url::parse(&format!("{scheme}://placeholder/"))
        .map_err(|e| format!("{scheme} URL: {e}"))?;
    url.set_host(Some(host))
        .map_err(|e| format!("host {host:?}: {e}"))?;
    url.set_port(Some(port))
        .map_err(|()| format!("port {port} cannot be used"))?;
    Ok(url)
}
