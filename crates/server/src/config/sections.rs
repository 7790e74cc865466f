//! The settings, one struct per concern. Each field is declared once, with its default and
//! the environment variable that sets it; the loader and the docs test derive from that.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

/// Declares a settings section: its fields with their defaults and environment variables.
macro_rules! section {
    (
        $(#[$meta:meta])*
        $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident: $ty:ty = $default:expr, env $env:literal;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl $name {
            /// Each field's environment variable, as `(VARIABLE, field)`.
            pub const ENV: &'static [(&'static str, &'static str)] =
                &[ $( ($env, stringify!($field)), )* ];
        }
    };
}

/// The configuration profile: picks `config/{profile}.toml` and the rules that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Dev,
    Test,
    Prod,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Test => "test",
            Profile::Prod => "prod",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for a log collector.
    Json,
}

section! {
    /// The profile and how the service reports.
    AppSettings {
        profile: Profile = Profile::Dev, env "APP_ENV";
        log_format: LogFormat = LogFormat::Pretty, env "LOG_FORMAT";
    }
}

section! {
    /// Where the service listens and how it stops.
    ServerSettings {
        host: String = "0.0.0.0".into(), env "SERVER_HOST";
        /// `0` picks a free port.
        port: u16 = 8080, env "SERVER_PORT";
        /// How long in-flight requests may take to finish on SIGTERM/SIGINT.
        shutdown_timeout_seconds: u64 = 30, env "SHUTDOWN_TIMEOUT_SECONDS";
        /// After SIGTERM, how long `/ready` answers `draining` while requests are still
        /// served, so that a load balancer stops sending before the listener closes.
        shutdown_drain_seconds: f64 = 5.0, env "SHUTDOWN_DRAIN_SECONDS";
        /// When set, `/metrics` requires `Authorization: Bearer <METRICS_TOKEN>`.
        #[serde(deserialize_with = "empty_as_none")]
        metrics_token: Option<SecretString> = None, env "METRICS_TOKEN";
        /// Lets the prod profile serve `/metrics` without `METRICS_TOKEN`, for a scraper on
        /// a network nobody else reaches.
        metrics_public: bool = false, env "METRICS_PUBLIC";
    }
}

section! {
    /// PostgreSQL: the Go service's split variables, or one URL.
    DatabaseSettings {
        host: String = "localhost".into(), env "POSTGRES_HOST";
        port: u16 = 5432, env "POSTGRES_PORT";
        user: String = "postgres".into(), env "POSTGRES_USER";
        #[serde(deserialize_with = "empty_as_none")]
        password: Option<SecretString> = None, env "POSTGRES_PASSWORD";
        name: String = "trachios".into(), env "POSTGRES_DB";
        /// libpq's `sslmode` for the split variables (a `DATABASE_URL` says it itself).
        #[serde(deserialize_with = "empty_as_none")]
        sslmode: Option<String> = None, env "POSTGRES_SSLMODE";
        /// The CA certificates (PEM) the server's certificate is checked against.
        #[serde(deserialize_with = "empty_as_none")]
        sslrootcert: Option<String> = None, env "POSTGRES_SSLROOTCERT";
        /// Overrides the split variables when set.
        #[serde(deserialize_with = "empty_as_none")]
        url: Option<SecretString> = None, env "DATABASE_URL";
        pool_size: usize = 16, env "DB_POOL_SIZE";
        migrate_on_start: bool = true, env "MIGRATE_ON_START";
    }
}

section! {
    /// The Redis order cache.
    CacheConfig {
        enabled: bool = true, env "CACHE_ENABLED";
        ttl_seconds: u64 = 300, env "CACHE_TTL_SECONDS";
        /// The most any cache operation may take, connecting included.
        timeout_ms: u64 = 50, env "REDIS_TIMEOUT_MS";
        /// Put before every key, to share one Redis between deployments.
        key_prefix: String = String::new(), env "CACHE_KEY_PREFIX";
        redis_host: String = "localhost".into(), env "REDIS_HOST";
        redis_port: u16 = 6379, env "REDIS_PORT";
        #[serde(deserialize_with = "empty_as_none")]
        redis_password: Option<SecretString> = None, env "REDIS_PASSWORD";
        /// Overrides the split variables when set.
        #[serde(deserialize_with = "empty_as_none")]
        redis_url: Option<SecretString> = None, env "REDIS_URL";
    }
}

section! {
    /// Tokens and the seeded admin account.
    AuthSettings {
        jwt_secret: SecretString = SecretString::from(""), env "JWT_SECRET";
        #[serde(deserialize_with = "empty_as_none")]
        admin_email: Option<String> = None, env "ADMIN_EMAIL";
        #[serde(deserialize_with = "empty_as_none")]
        admin_password: Option<SecretString> = None, env "ADMIN_PASSWORD";
        /// The fewest characters a new password may have (8–64).
        password_min_length: usize = 8, env "PASSWORD_MIN_LENGTH";
        /// Seals webhook signing keys in the store; without it, a key derived from
        /// `JWT_SECRET` does.
        #[serde(deserialize_with = "empty_as_none")]
        secrets_key: Option<SecretString> = None, env "SECRETS_KEY";
        /// Keys rotated out, comma-separated: they open what they sealed, and seal nothing.
        #[serde(deserialize_with = "empty_as_none")]
        secrets_key_previous: Option<SecretString> = None, env "SECRETS_KEY_PREVIOUS";
    }
}

section! {
    /// The catalog.
    CatalogSettings {
        /// The ISO 4217 currency of a product created without one.
        currency: String = "EUR".into(), env "CURRENCY";
        /// Whether an order may be one line of free text (the v1 body) instead of lines.
        free_text_orders: bool = true, env "FREE_TEXT_ORDERS";
    }
}

section! {
    /// The automatic order progression.
    LifecycleSettings {
        /// How long each non-terminal status lasts; fractions allowed.
        order_step_seconds: f64 = 15.0, env "ORDER_STEP_SECONDS";
        /// Orders advanced per lifecycle statement.
        batch_size: i64 = 1000, env "LIFECYCLE_BATCH_SIZE";
    }
}

section! {
    /// What one client may cost the service; `0` turns a limit off. Limits are kept per
    /// process (see docs/api.md, Limits).
    LimitSettings {
        /// `POST /login` attempts per client IP and email.
        login_rate_per_minute: u32 = 10, env "LOGIN_RATE_PER_MINUTE";
        /// Failed logins per account per hour, from every address together.
        login_failures_per_account_per_hour: u32 = 50, env "LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR";
        /// `POST /login` and `POST /register` per client IP.
        auth_rate_per_minute: u32 = 60, env "AUTH_RATE_PER_MINUTE";
        /// Orders one customer may have that are neither delivered nor cancelled.
        open_orders_per_user: u32 = 1000, env "OPEN_ORDERS_PER_USER";
        /// `POST /orders` per user.
        order_rate_per_minute: u32 = 60, env "ORDER_RATE_PER_MINUTE";
        /// Password hashes computed at once (each holds 19 MiB).
        hash_concurrency: usize = available_cores(), env "HASH_CONCURRENCY";
        /// Requests allowed to wait for a hash; one more answers 503.
        hash_queue: usize = 256, env "HASH_QUEUE";
        /// A request body must arrive within this many seconds, else 408.
        request_body_timeout_seconds: f64 = 10.0, env "REQUEST_BODY_TIMEOUT_SECONDS";
        /// Open event streams per user (and process).
        streams_per_user: usize = 8, env "STREAMS_PER_USER";
        /// `GET /orders/export.csv` under way at once (per process).
        exports_at_once: usize = 2, env "EXPORTS_AT_ONCE";
        /// Rows an export sends a second at most, so that it leaves the machine to others.
        export_rows_per_second: u32 = 110_000, env "EXPORT_ROWS_PER_SECOND";
        /// Proxies whose `X-Forwarded-For` is believed: addresses or CIDRs, comma-separated.
        trusted_proxies: String = String::new(), env "TRUSTED_PROXIES";
    }
}

section! {
    /// Webhook deliveries.
    WebhookSettings {
        /// Attempts per event and endpoint, the first included, before giving up.
        max_attempts: u32 = 8, env "WEBHOOK_MAX_ATTEMPTS";
        /// The wait after the first failed attempt; it doubles after each further one.
        retry_base_seconds: f64 = 10.0, env "WEBHOOK_RETRY_BASE_SECONDS";
        /// An attempt without a complete answer within this fails.
        timeout_seconds: f64 = 10.0, env "WEBHOOK_TIMEOUT_SECONDS";
        /// Let webhooks reach loopback, private and link-local addresses.
        allow_private: bool = false, env "WEBHOOK_ALLOW_PRIVATE";
        /// Deliveries one worker sends at once; each process runs two workers.
        batch_size: usize = 100, env "WEBHOOK_BATCH_SIZE";
        /// Finished deliveries and log entries are kept this long.
        retention_hours: f64 = 168.0, env "WEBHOOK_RETENTION_HOURS";
    }
}

section! {
    /// Live order streams.
    StreamSettings {
        /// An idle stream gets a `: keep-alive` comment this often.
        keep_alive_seconds: f64 = 15.0, env "STREAM_KEEP_ALIVE_SECONDS";
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `REDIS_PASSWORD=` in a `.env` means "not set", as it did for the Go service.
fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let raw = Option::<String>::deserialize(deserializer)?;
    Ok(raw.filter(|v| !v.trim().is_empty()).map(T::from))
}
