use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The sample admin password shipped in `.env.example`; prod refuses to run with it.
pub const SAMPLE_ADMIN_PASSWORD: &str = "change-me-admin-password";

/// Every environment variable the service reads (the Go service's names and ours).
const ENV_KEYS: &[&str] = &[
    "app_env",
    "server_host",
    "server_port",
    "postgres_host",
    "postgres_port",
    "postgres_user",
    "postgres_password",
    "postgres_db",
    "database_url",
    "db_pool_size",
    "redis_host",
    "redis_port",
    "redis_password",
    "redis_url",
    "cache_enabled",
    "cache_ttl_seconds",
    "redis_timeout_ms",
    "jwt_secret",
    "admin_email",
    "admin_password",
    "order_step_seconds",
    "lifecycle_batch_size",
    "migrate_on_start",
    "log_format",
    "shutdown_timeout_seconds",
];

/// The service's configuration: defaults, then `config/default.toml`, then
/// `config/{APP_ENV}.toml`, then the environment. Its `Debug` leaves out every secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    pub app_env: String,
    pub server_host: String,
    pub server_port: u16,
    pub postgres_host: String,
    pub postgres_port: u16,
    pub postgres_user: String,
    pub postgres_password: String,
    pub postgres_db: String,
    pub database_url: Option<String>,
    pub db_pool_size: usize,
    pub redis_host: String,
    pub redis_port: u16,
    pub redis_password: Option<String>,
    pub redis_url: Option<String>,
    pub cache_enabled: bool,
    pub cache_ttl_seconds: u64,
    pub redis_timeout_ms: u64,
    pub cache_key_prefix: String,
    pub jwt_secret: String,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub order_step_seconds: f64,
    pub lifecycle_batch_size: i64,
    pub migrate_on_start: bool,
    pub log_format: String,
    pub shutdown_timeout_seconds: u64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("app_env", &self.app_env)
            .field("server_host", &self.server_host)
            .field("server_port", &self.server_port)
            .field("order_step_seconds", &self.order_step_seconds)
            .field("cache_enabled", &self.cache_enabled)
            .field("log_format", &self.log_format)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            app_env: "dev".into(),
            server_host: "0.0.0.0".into(),
            server_port: 8080,
            postgres_host: "localhost".into(),
            postgres_port: 5432,
            postgres_user: "postgres".into(),
            postgres_password: String::new(),
            postgres_db: "trachios".into(),
            database_url: None,
            db_pool_size: 16,
            redis_host: "localhost".into(),
            redis_port: 6379,
            redis_password: None,
            redis_url: None,
            cache_enabled: true,
            cache_ttl_seconds: 300,
            redis_timeout_ms: 50,
            cache_key_prefix: String::new(),
            jwt_secret: String::new(),
            admin_email: None,
            admin_password: None,
            order_step_seconds: 15.0,
            lifecycle_batch_size: 1000,
            migrate_on_start: true,
            log_format: "pretty".into(),
            shutdown_timeout_seconds: 30,
        }
    }
}

/// A configuration the service refuses to start with; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration could not be read: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("{key}: {problem}")]
    Invalid { key: &'static str, problem: String },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.into(),
    }
}

impl Settings {
    /// Reads the layered configuration for the profile named by `APP_ENV` and validates it.
    pub fn load() -> Result<Self, ConfigError> {
        let dir = std::env::var("TRACHIOS_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| "config".into());
        let profile = std::env::var("APP_ENV").unwrap_or_else(|_| "dev".into());
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(dir.join("default.toml")))
            .merge(Toml::file(dir.join(format!("{profile}.toml"))))
            .merge(Env::raw().only(ENV_KEYS))
            .extract()
            .map_err(Box::new)?;
        settings.normalised().validated()
    }

    /// Empty variables (`REDIS_PASSWORD=` in a `.env`) mean "not set".
    fn normalised(mut self) -> Self {
        for value in [
            &mut self.database_url,
            &mut self.redis_url,
            &mut self.redis_password,
            &mut self.admin_email,
            &mut self.admin_password,
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
        }
        self
    }

    /// Checks the rules that no type can express.
    pub fn validated(self) -> Result<Self, ConfigError> {
        if !matches!(self.app_env.as_str(), "dev" | "test" | "prod") {
            return Err(invalid("APP_ENV", "must be dev, test or prod"));
        }
        if self.jwt_secret.is_empty() {
            return Err(invalid("JWT_SECRET", "must be set"));
        }
        if self.app_env == "prod" {
            if self.jwt_secret.len() < 32 {
                return Err(invalid(
                    "JWT_SECRET",
                    "must be at least 32 bytes in the prod profile",
                ));
            }
            if self.admin_password.as_deref() == Some(SAMPLE_ADMIN_PASSWORD) {
                return Err(invalid(
                    "ADMIN_PASSWORD",
                    "is the sample value from .env.example; choose a real one",
                ));
            }
        }
        if !(self.order_step_seconds.is_finite() && self.order_step_seconds > 0.0) {
            return Err(invalid(
                "ORDER_STEP_SECONDS",
                "must be a positive number of seconds",
            ));
        }
        if self.lifecycle_batch_size < 1 {
            return Err(invalid("LIFECYCLE_BATCH_SIZE", "must be at least 1"));
        }
        if self.db_pool_size < 1 {
            return Err(invalid("DB_POOL_SIZE", "must be at least 1"));
        }
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            return Err(invalid("LOG_FORMAT", "must be pretty or json"));
        }
        if self.admin_email.is_some() != self.admin_password.is_some() {
            return Err(invalid(
                "ADMIN_EMAIL",
                "ADMIN_EMAIL and ADMIN_PASSWORD must be set together",
            ));
        }
        Ok(self)
    }

    /// `DATABASE_URL`, or one built from the split `POSTGRES_*` variables.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            let auth = if self.postgres_password.is_empty() {
                encode(&self.postgres_user)
            } else {
                format!(
                    "{}:{}",
                    encode(&self.postgres_user),
                    encode(&self.postgres_password)
                )
            };
            format!(
                "postgres://{auth}@{}:{}/{}",
                self.postgres_host, self.postgres_port, self.postgres_db
            )
        })
    }

    /// `REDIS_URL`, or one built from the split `REDIS_*` variables.
    pub fn redis_url(&self) -> String {
        self.redis_url
            .clone()
            .unwrap_or_else(|| match &self.redis_password {
                Some(password) => format!(
                    "redis://:{}@{}:{}/",
                    encode(password),
                    self.redis_host,
                    self.redis_port
                ),
                None => format!("redis://{}:{}/", self.redis_host, self.redis_port),
            })
    }

    /// The lifecycle step as a duration.
    pub fn order_step(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.order_step_seconds)
    }
}

/// Percent-encodes what may not appear in the userinfo part of a URL.
fn encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Settings {
        Settings {
            jwt_secret: "dev-secret".into(),
            ..Settings::default()
        }
    }

    #[test]
    fn prod_refuses_a_short_jwt_secret_and_names_the_key() {
        let err = Settings {
            app_env: "prod".into(),
            ..base()
        }
        .validated()
        .unwrap_err();
        assert!(err.to_string().starts_with("JWT_SECRET"), "{err}");
    }

    #[test]
    fn prod_refuses_the_sample_admin_password() {
        let s = Settings {
            app_env: "prod".into(),
            jwt_secret: "x".repeat(32),
            admin_email: Some("admin@x.io".into()),
            admin_password: Some(SAMPLE_ADMIN_PASSWORD.into()),
            ..base()
        };
        assert!(s
            .validated()
            .unwrap_err()
            .to_string()
            .starts_with("ADMIN_PASSWORD"));
    }

    #[test]
    fn a_missing_secret_is_refused_in_every_profile() {
        let err = Settings {
            jwt_secret: String::new(),
            ..base()
        }
        .validated()
        .unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"));
    }

    #[test]
    fn the_split_variables_build_urls_and_the_url_variables_override_them() {
        let s = Settings {
            postgres_password: "p@ss word".into(),
            postgres_host: "db".into(),
            ..base()
        };
        assert_eq!(
            s.database_url(),
            "postgres://postgres:p%40ss%20word@db:5432/trachios"
        );
        let s = Settings {
            database_url: Some("postgres://x/y".into()),
            ..s
        };
        assert_eq!(s.database_url(), "postgres://x/y");
        assert_eq!(base().redis_url(), "redis://localhost:6379/");
    }

    #[test]
    fn a_non_positive_step_is_refused() {
        let err = Settings {
            order_step_seconds: 0.0,
            ..base()
        }
        .validated()
        .unwrap_err();
        assert!(err.to_string().starts_with("ORDER_STEP_SECONDS"));
    }
}
