//! Which store and which cache the configuration selects (API.md, "Stores").

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::{invalid, ConfigError, Profile, Settings};

/// The embedded store's file when nothing else is configured, in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "trachios.db";

/// Whether the environment names PostgreSQL or Redis at all: the Go service's `.env`
/// files set `POSTGRES_*` and `REDIS_*`, and must keep reaching those servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VariablesSeen {
    pub postgres: bool,
    pub redis: bool,
}

impl VariablesSeen {
    /// What the process environment (a loaded `.env` included) sets.
    pub fn in_environment() -> Self {
        Self::among(std::env::vars_os().filter_map(|(key, _)| key.into_string().ok()))
    }

    pub fn among(names: impl IntoIterator<Item = String>) -> Self {
        let mut seen = Self::default();
        for name in names {
            seen.postgres |= name.starts_with("POSTGRES_");
            seen.redis |= name.starts_with("REDIS_");
        }
        seen
    }
}

/// The store the service runs on.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Postgres(SecretString),
    /// The embedded store: one file, one process.
    Sqlite(PathBuf),
}

/// The order cache the service runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheChoice {
    Redis,
    /// In this process's memory: only right when this process makes every write, as with
    /// the embedded store.
    InProcess,
    Disabled,
}

impl Settings {
    /// `DATABASE_URL` by its scheme; without it, PostgreSQL when a `POSTGRES_*` variable is
    /// set or the profile is prod, otherwise `sqlite://trachios.db`.
    pub fn store(&self) -> Result<StoreChoice, ConfigError> {
        if let Some(url) = &self.database.url {
            let url = url.expose_secret();
            if let Some(path) = url.strip_prefix("sqlite://") {
                if path.is_empty() {
                    return Err(invalid(
                        "DATABASE_URL",
                        "sqlite:// needs a file, e.g. sqlite://trachios.db or sqlite:///var/lib/trachios/trachios.db",
                    ));
                }
                return Ok(StoreChoice::Sqlite(PathBuf::from(path)));
            }
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                return Ok(StoreChoice::Postgres(self.database_url()?));
            }
            return Err(invalid(
                "DATABASE_URL",
                "must start with postgres://, postgresql:// or sqlite://",
            ));
        }
        if self.seen.postgres || self.app.profile == Profile::Prod {
            Ok(StoreChoice::Postgres(self.database_url()?))
        } else {
            Ok(StoreChoice::Sqlite(PathBuf::from(DEFAULT_SQLITE_FILE)))
        }
    }

    /// Off when `CACHE_ENABLED=false`; in-process on the embedded store unless Redis is
    /// named (`REDIS_URL` or any `REDIS_*` variable); Redis otherwise.
    pub fn cache_choice(&self, store: &StoreChoice) -> CacheChoice {
        let redis_named = self.cache.redis_url.is_some() || self.seen.redis;
        match store {
            _ if !self.cache.enabled => CacheChoice::Disabled,
            StoreChoice::Sqlite(_) if !redis_named => CacheChoice::InProcess,
            _ => CacheChoice::Redis,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(profile: Profile, url: Option<&str>, seen: &[&str]) -> Settings {
        let mut s = Settings::default();
        s.app.profile = profile;
        s.database.url = url.map(SecretString::from);
        s.seen = VariablesSeen::among(seen.iter().map(|v| (*v).to_owned()));
        s
    }

    fn store(s: &Settings) -> String {
        match s.store().unwrap() {
            StoreChoice::Postgres(url) => url.expose_secret().to_owned(),
            StoreChoice::Sqlite(path) => format!("sqlite:{}", path.display()),
        }
    }

    #[test]
    fn the_url_scheme_picks_the_store() {
        let s = settings(
            Profile::Prod,
            Some("sqlite:///var/lib/t.db"),
            &["POSTGRES_HOST"],
        );
        assert_eq!(store(&s), "sqlite:/var/lib/t.db");
        let s = settings(Profile::Dev, Some("postgres://u@h/d"), &[]);
        assert_eq!(store(&s), "postgres://u@h/d");
        let s = settings(Profile::Dev, Some("postgresql://u@h/d"), &[]);
        assert_eq!(store(&s), "postgresql://u@h/d");
        for bad in ["mysql://h/d", "sqlite://", "trachios.db"] {
            let err = settings(Profile::Dev, Some(bad), &[]).store().unwrap_err();
            assert!(
                err.to_string().starts_with("DATABASE_URL: "),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn without_a_url_dev_and_test_embed_and_prod_or_postgres_variables_pick_postgres() {
        for profile in [Profile::Dev, Profile::Test] {
            assert_eq!(store(&settings(profile, None, &[])), "sqlite:trachios.db");
            assert!(
                store(&settings(profile, None, &["POSTGRES_PASSWORD"])).starts_with("postgres://")
            );
        }
        assert!(store(&settings(Profile::Prod, None, &[])).starts_with("postgres://"));
    }

    #[test]
    fn the_cache_is_in_process_only_on_the_embedded_store_with_no_redis_named() {
        let embedded = StoreChoice::Sqlite(PathBuf::from("t.db"));
        let postgres = StoreChoice::Postgres(SecretString::from("postgres://h/d"));
        let plain = settings(Profile::Dev, None, &[]);
        assert_eq!(plain.cache_choice(&embedded), CacheChoice::InProcess);
        assert_eq!(plain.cache_choice(&postgres), CacheChoice::Redis);
        let named = settings(Profile::Dev, None, &["REDIS_HOST"]);
        assert_eq!(named.cache_choice(&embedded), CacheChoice::Redis);
        let mut url = settings(Profile::Dev, None, &[]);
        url.cache.redis_url = Some(SecretString::from("redis://h/"));
        assert_eq!(url.cache_choice(&embedded), CacheChoice::Redis);
        let mut off = named;
        off.cache.enabled = false;
        assert_eq!(off.cache_choice(&embedded), CacheChoice::Disabled);
        assert_eq!(off.cache_choice(&postgres), CacheChoice::Disabled);
    }
}
