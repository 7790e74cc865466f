//! The service's configuration: nested settings deserialised by figment from layered
//! sources (defaults in code, `config/default.toml`, `config/{APP_ENV}.toml`, the
//! environment), validated once at start-up with errors that name the variable.

mod sections;
mod sources;
mod stores;
mod urls;

use std::path::PathBuf;

use secrecy::ExposeSecret;
use serde::Deserialize;

pub use sections::{
    AppSettings, AuthSettings, CacheConfig, CatalogSettings, DatabaseSettings, LifecycleSettings,
    LimitSettings, LogFormat, Profile, ServerSettings, StreamSettings, WebhookSettings,
};
pub use sources::ENVIRONMENT;
pub use stores::{CacheChoice, StoreChoice, VariablesSeen, DEFAULT_SQLITE_FILE};

/// Sample values shipped in `.env.example` and the dev/test profiles (and the Go service's
/// well-known defaults); prod refuses them, naming the key.
pub const SAMPLE_SECRETS: &[(&str, &str)] = &[
    ("ADMIN_PASSWORD", "change-me-admin-password"),
    ("JWT_SECRET", "replace-with-at-least-32-random-bytes"),
    ("JWT_SECRET", "dev-only-secret-change-me-dev-only-secret"),
    ("JWT_SECRET", "test-only-secret-test-only-secret-xx"),
    ("POSTGRES_PASSWORD", "change-me-postgres-password"),
    ("POSTGRES_PASSWORD", "postgres"),
    ("REDIS_PASSWORD", "change-me-redis-password"),
    ("METRICS_TOKEN", "change-me-metrics-token"),
];

/// Every setting. Its `Debug` shows no secret (they are `SecretString`s).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub app: AppSettings,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub cache: CacheConfig,
    pub auth: AuthSettings,
    pub catalog: CatalogSettings,
    pub lifecycle: LifecycleSettings,
    pub limits: LimitSettings,
    pub streams: StreamSettings,
    pub webhooks: WebhookSettings,
    /// Which families of variables the environment sets, for choosing the stores.
    #[serde(skip)]
    pub seen: VariablesSeen,
}

/// A configuration the service refuses to start with; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
    #[error("{file}: unknown key {key:?}")]
    UnknownKey { file: String, key: String },
    #[error("configuration could not be read")]
    Load(#[source] Box<figment::Error>),
}

fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

impl Settings {
    /// Reads the layered configuration for the profile named by `APP_ENV` and validates it.
    /// `TRACHIOS_CONFIG_DIR` says where the files are (default `./config`).
    pub fn load() -> Result<Self, ConfigError> {
        let dir = std::env::var("TRACHIOS_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| "config".into());
        sources::load(&dir)?.validated()
    }

    /// Checks the rules that no type can express.
    pub fn validated(self) -> Result<Self, ConfigError> {
        let secret = self.auth.jwt_secret.expose_secret();
        if secret.is_empty() {
            return Err(invalid("JWT_SECRET", "must be set"));
        }
        if self
            .auth
            .secrets_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().len() < 32)
        {
            return Err(invalid("SECRETS_KEY", "must be at least 32 bytes"));
        }
        if self.app.profile == Profile::Prod {
            if secret.len() < 32 {
                return Err(invalid(
                    "JWT_SECRET",
                    "must be at least 32 bytes in the prod profile",
                ));
            }
            let secrets = [
                ("JWT_SECRET", Some(secret)),
                (
                    "ADMIN_PASSWORD",
                    self.auth.admin_password.as_ref().map(|p| p.expose_secret()),
                ),
                (
                    "POSTGRES_PASSWORD",
                    self.database.password.as_ref().map(|p| p.expose_secret()),
                ),
                (
                    "REDIS_PASSWORD",
                    self.cache
                        .redis_password
                        .as_ref()
                        .map(|p| p.expose_secret()),
                ),
                (
                    "METRICS_TOKEN",
                    self.server
                        .metrics_token
                        .as_ref()
                        .map(|t| t.expose_secret()),
                ),
            ];
            for (key, value) in secrets {
                if SAMPLE_SECRETS.contains(&(key, value.unwrap_or_default())) {
                    return Err(invalid(
                        key,
                        "is a sample value from .env.example or the dev/test profile; choose a real one",
                    ));
                }
            }
            self.refuse_unsafe_in_prod()?;
        }
        self.currency()?;
        let step = self.lifecycle.order_step_seconds;
        if !(step.is_finite() && step > 0.0) {
            return Err(invalid(
                "ORDER_STEP_SECONDS",
                "must be a positive number of seconds",
            ));
        }
        if chrono::Duration::from_std(self.order_step()).is_err() {
            return Err(invalid("ORDER_STEP_SECONDS", "is too large"));
        }
        if self.lifecycle.batch_size < 1 {
            return Err(invalid("LIFECYCLE_BATCH_SIZE", "must be at least 1"));
        }
        if self.database.pool_size < 1 {
            return Err(invalid("DB_POOL_SIZE", "must be at least 1"));
        }
        if self.auth.admin_email.is_some() != self.auth.admin_password.is_some() {
            return Err(invalid(
                "ADMIN_EMAIL",
                "ADMIN_EMAIL and ADMIN_PASSWORD must be set together",
            ));
        }
        let body_timeout = self.limits.request_body_timeout_seconds;
        if !(body_timeout.is_finite() && (0.0..=3600.0).contains(&body_timeout)) {
            return Err(invalid(
                "REQUEST_BODY_TIMEOUT_SECONDS",
                "must be a number of seconds from 0 (off) to 3600",
            ));
        }
        let keep_alive = self.streams.keep_alive_seconds;
        if !(keep_alive.is_finite() && (0.05..=300.0).contains(&keep_alive)) {
            return Err(invalid(
                "STREAM_KEEP_ALIVE_SECONDS",
                "must be a number of seconds from 0.05 to 300",
            ));
        }
        let drain = self.server.shutdown_drain_seconds;
        if !(drain.is_finite() && (0.0..=300.0).contains(&drain)) {
            return Err(invalid(
                "SHUTDOWN_DRAIN_SECONDS",
                "must be a number of seconds from 0 to 300",
            ));
        }
        self.password_policy()?;
        self.validate_webhooks()?;
        self.trusted_proxies()?;
        self.store()?;
        self.database_url()?;
        self.redis_url()?;
        Ok(self)
    }

    fn validate_webhooks(&self) -> Result<(), ConfigError> {
        let w = &self.webhooks;
        if w.max_attempts < 1 {
            return Err(invalid("WEBHOOK_MAX_ATTEMPTS", "must be at least 1"));
        }
        if !(w.retry_base_seconds.is_finite() && (0.01..=86_400.0).contains(&w.retry_base_seconds))
        {
            return Err(invalid(
                "WEBHOOK_RETRY_BASE_SECONDS",
                "must be a number of seconds from 0.01 to 86400",
            ));
        }
        if !(w.timeout_seconds.is_finite() && (0.1..=60.0).contains(&w.timeout_seconds)) {
            return Err(invalid(
                "WEBHOOK_TIMEOUT_SECONDS",
                "must be a number of seconds from 0.1 to 60",
            ));
        }
        if !(1..=1000).contains(&w.batch_size) {
            return Err(invalid("WEBHOOK_BATCH_SIZE", "must be from 1 to 1000"));
        }
        if !(w.retention_hours.is_finite()
            && w.retention_hours > 0.0
            && w.retention_hours <= 87_600.0)
        {
            return Err(invalid(
                "WEBHOOK_RETENTION_HOURS",
                "must be a positive number of hours, at most 87600",
            ));
        }
        Ok(())
    }

    /// How failed deliveries are retried.
    pub fn webhook_retries(&self) -> trachios_domain::RetryPolicy {
        trachios_domain::RetryPolicy {
            base: std::time::Duration::try_from_secs_f64(self.webhooks.retry_base_seconds)
                .unwrap_or(std::time::Duration::from_secs(10)),
            max_attempts: self.webhooks.max_attempts,
        }
    }

    /// `WEBHOOK_TIMEOUT_SECONDS` as a duration.
    pub fn webhook_timeout(&self) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(self.webhooks.timeout_seconds)
            .unwrap_or(std::time::Duration::from_secs(10))
    }

    /// `WEBHOOK_RETENTION_HOURS` as a duration.
    pub fn webhook_retention(&self) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(self.webhooks.retention_hours * 3600.0)
            .unwrap_or(std::time::Duration::from_secs(7 * 24 * 3600))
    }

    /// `TRUSTED_PROXIES` as networks; a single address is a network of one.
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.limits
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "TRUSTED_PROXIES",
                            format!("{entry:?} is neither an IP address nor a CIDR network"),
                        )
                    })
            })
            .collect()
    }

    /// `REQUEST_BODY_TIMEOUT_SECONDS` as a duration; `None` when turned off.
    pub fn request_body_timeout(&self) -> Option<std::time::Duration> {
        let seconds = self.limits.request_body_timeout_seconds;
        (seconds > 0.0).then(|| std::time::Duration::from_secs_f64(seconds))
    }

    /// `STREAM_KEEP_ALIVE_SECONDS` as a duration.
    pub fn stream_keep_alive(&self) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(self.streams.keep_alive_seconds)
            .unwrap_or(std::time::Duration::from_secs(15))
    }

    /// `SHUTDOWN_DRAIN_SECONDS` as a duration.
    pub fn shutdown_drain(&self) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(self.server.shutdown_drain_seconds)
            .unwrap_or_default()
    }

    /// `DATABASE_URL`, or one built from the split `POSTGRES_*` variables.
    pub fn database_url(&self) -> Result<SecretString, ConfigError> {
        urls::database_url(&self.database).map_err(|p| invalid("DATABASE_URL", p))
    }

    /// `REDIS_URL`, or one built from the split `REDIS_*` variables.
    /// What a development setup may allow and a deployment must not.
    fn refuse_unsafe_in_prod(&self) -> Result<(), ConfigError> {
        if self.webhooks.allow_private {
            return Err(invalid(
                "WEBHOOK_ALLOW_PRIVATE",
                "lets webhooks reach the server's own network; it is refused in the prod profile",
            ));
        }
        if self.server.metrics_token.is_none() && !self.server.metrics_public {
            return Err(invalid(
                "METRICS_TOKEN",
                "must be set in the prod profile (or METRICS_PUBLIC=true for a scraper on a private network)",
            ));
        }
        Ok(())
    }

    /// The currency of a product created without one (`CURRENCY`).
    pub fn currency(&self) -> Result<trachios_domain::Currency, ConfigError> {
        trachios_domain::Currency::parse(&self.catalog.currency)
            .map_err(|e| invalid("CURRENCY", e.to_string()))
    }

    pub fn password_policy(&self) -> Result<trachios_domain::PasswordPolicy, ConfigError> {
        trachios_domain::PasswordPolicy::new(self.auth.password_min_length)
            .map_err(|e| invalid("PASSWORD_MIN_LENGTH", e.to_string()))
    }

    /// What seals the secrets the store keeps: `SECRETS_KEY`, or `JWT_SECRET` where none is
    /// set. `JWT_SECRET` and `SECRETS_KEY_PREVIOUS` open what they sealed, so that setting
    /// or rotating `SECRETS_KEY` needs no other step.
    pub fn secret_box(&self) -> trachios_auth::SecretBox {
        let jwt = self.auth.jwt_secret.expose_secret().as_bytes();
        let mut previous: Vec<&[u8]> = self
            .auth
            .secrets_key_previous
            .as_ref()
            .map(|keys| keys.expose_secret().split(','))
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::as_bytes)
            .collect();
        match &self.auth.secrets_key {
            Some(key) => {
                previous.push(jwt);
                trachios_auth::SecretBox::new(key.expose_secret().as_bytes(), &previous)
            }
            None => trachios_auth::SecretBox::new(jwt, &previous),
        }
    }

    pub fn redis_url(&self) -> Result<SecretString, ConfigError> {
        urls::redis_url(&self.cache).map_err(|p| invalid("REDIS_URL", p))
    }

    /// The lifecycle step as a duration.
    pub fn order_step(&self) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(self.lifecycle.order_step_seconds)
            .unwrap_or(std::time::Duration::MAX)
    }
}

pub use secrecy::SecretString;

#[cfg(test)]
mod tests;
