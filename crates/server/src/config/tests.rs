// `figment::Jail` closures must return `figment::Error`, which is large; tests only.
#![allow(clippy::result_large_err)]

use std::path::Path;

use figment::Jail;
use secrecy::ExposeSecret;

use super::sources::{layers, load, path_of};
use super::*;

fn base() -> Settings {
    let mut s = Settings::default();
    s.auth.jwt_secret = SecretString::from("a-long-enough-secret-for-every-profile-1");
    s
}

fn prod() -> Settings {
    let mut s = base();
    s.app.profile = Profile::Prod;
    s.server.metrics_token = Some(SecretString::from("a-real-metrics-token"));
    s
}

fn refusal(settings: Settings) -> String {
    settings
        .validated()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn prod_refuses_a_short_jwt_secret_and_names_the_key() {
    let mut s = prod();
    s.auth.jwt_secret = SecretString::from("short");
    assert!(refusal(s).starts_with("JWT_SECRET:"));
}

#[test]
fn prod_refuses_every_sample_secret_and_names_its_key() {
    for (key, sample) in SAMPLE_SECRETS {
        let mut s = prod();
        match *key {
            "JWT_SECRET" => s.auth.jwt_secret = SecretString::from(*sample),
            "ADMIN_PASSWORD" => {
                s.auth.admin_email = Some("admin@x.io".into());
                s.auth.admin_password = Some(SecretString::from(*sample));
            }
            "POSTGRES_PASSWORD" => s.database.password = Some(SecretString::from(*sample)),
            "REDIS_PASSWORD" => s.cache.redis_password = Some(SecretString::from(*sample)),
            "METRICS_TOKEN" => s.server.metrics_token = Some(SecretString::from(*sample)),
            other => panic!("no test for sample {other}"),
        }
        let refused = refusal(s);
        assert!(
            refused.starts_with(&format!("{key}:")),
            "{key}={sample}: {refused:?}"
        );
    }
}

#[test]
fn the_env_example_is_refused_by_the_prod_profile_until_its_samples_are_replaced() {
    // Absolute: figment's jails change the working directory of concurrent tests.
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example"))
            .expect(".env.example");
    assert!(
        !example
            .lines()
            .any(|l| l.trim_start().starts_with("APP_ENV=")),
        ".env.example must not override the profile: Compose runs prod"
    );
    let mut refused_keys = Vec::new();
    for line in example.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if SAMPLE_SECRETS.contains(&(key, value)) {
            refused_keys.push(key);
        }
    }
    for key in [
        "JWT_SECRET",
        "ADMIN_PASSWORD",
        "POSTGRES_PASSWORD",
        "METRICS_TOKEN",
    ] {
        assert!(
            refused_keys.contains(&key),
            "{key} in .env.example is not a refused sample"
        );
    }
}

#[test]
fn prod_refuses_private_webhooks_and_open_metrics_unless_said_so() {
    assert!(prod().validated().is_ok());
    let mut s = prod();
    s.webhooks.allow_private = true;
    assert!(refusal(s).starts_with("WEBHOOK_ALLOW_PRIVATE:"));
    let mut s = prod();
    s.server.metrics_token = None;
    assert!(refusal(s).starts_with("METRICS_TOKEN:"));
    let mut s = prod();
    s.server.metrics_token = None;
    s.server.metrics_public = true;
    assert!(
        s.validated().is_ok(),
        "a scrape on a private network, said so"
    );
    let mut s = base();
    s.webhooks.allow_private = true;
    assert!(s.validated().is_ok(), "development may");
}

#[test]
fn dev_accepts_its_own_sample_secret() {
    let mut s = base();
    s.auth.jwt_secret = SecretString::from("dev-only-secret-change-me-dev-only-secret");
    assert!(s.validated().is_ok());
}

#[test]
fn a_missing_secret_is_refused_in_every_profile() {
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let mut s = Settings::default();
        s.app.profile = profile;
        assert!(refusal(s).starts_with("JWT_SECRET:"), "{profile}");
    }
}

#[test]
fn the_split_variables_build_encoded_urls_and_the_url_variables_override_them() {
    let mut s = base();
    s.database.password = Some(SecretString::from("p@ss word/:"));
    s.database.host = "db".into();
    assert_eq!(
        s.database_url().unwrap().expose_secret(),
        "postgres://postgres:p%40ss%20word%2F%3A@db:5432/trachios"
    );
    s.database.url = Some(SecretString::from("postgres://x/y"));
    assert_eq!(s.database_url().unwrap().expose_secret(), "postgres://x/y");
    assert_eq!(
        base().redis_url().unwrap().expose_secret(),
        "redis://localhost:6379/"
    );
    s.cache.redis_password = Some(SecretString::from("se:cret"));
    assert_eq!(
        s.redis_url().unwrap().expose_secret(),
        "redis://:se%3Acret@localhost:6379/"
    );
}

#[test]
fn a_non_positive_step_is_refused() {
    let mut s = base();
    s.lifecycle.order_step_seconds = 0.0;
    assert!(refusal(s).starts_with("ORDER_STEP_SECONDS:"));
}

#[test]
fn debug_output_shows_no_secret() {
    let mut s = base();
    s.auth.jwt_secret = SecretString::from("jwt-secret-value-jwt-secret-value");
    s.auth.admin_password = Some(SecretString::from("admin-password-value"));
    s.database.password = Some(SecretString::from("db-password-value"));
    s.database.url = Some(SecretString::from("postgres://u:db-url-password@h/d"));
    s.cache.redis_url = Some(SecretString::from("redis://:redis-url-password@h/"));
    let shown = format!("{s:?}");
    for secret in [
        "jwt-secret-value",
        "admin-password-value",
        "db-password-value",
        "db-url-password",
        "redis-url-password",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[test]
fn cache_key_prefix_from_the_environment_reaches_the_settings() {
    Jail::expect_with(|jail| {
        jail.set_env("CACHE_KEY_PREFIX", "x_");
        let settings = load(Path::new("config")).map_err(|e| e.to_string())?;
        assert_eq!(settings.cache.key_prefix, "x_");
        Ok(())
    });
}

#[test]
fn files_use_the_variable_names_in_lower_case_and_the_environment_wins() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "server_port = 9000\npostgres_db = \"from_default\"\n",
        )?;
        jail.create_file("config/test.toml", "postgres_db = \"from_profile\"\n")?;
        jail.set_env("APP_ENV", "test");
        jail.set_env("SERVER_PORT", "9100");
        let settings = load(Path::new("config")).map_err(|e| e.to_string())?;
        assert_eq!(settings.app.profile, Profile::Test);
        assert_eq!(settings.server.port, 9100, "the environment wins");
        assert_eq!(
            settings.database.name, "from_profile",
            "the profile file wins"
        );
        Ok(())
    });
}

#[test]
fn a_typo_in_a_file_is_refused_with_the_key() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "postgres_hots = \"db\"\n")?;
        let err = load(Path::new("config")).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("postgres_hots")),
            "{err:?}"
        );
        Ok(())
    });
}

#[test]
fn a_malformed_value_names_the_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("SERVER_PORT", "eighty");
        let err = load(Path::new("config")).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.starts_with("SERVER_PORT:")),
            "{err:?}"
        );
        Ok(())
    });
}

#[test]
fn empty_optional_variables_mean_unset() {
    Jail::expect_with(|jail| {
        jail.set_env("REDIS_PASSWORD", "");
        jail.set_env("DATABASE_URL", " ");
        let settings = load(Path::new("config")).map_err(|e| e.to_string())?;
        assert!(settings.cache.redis_password.is_none());
        assert!(settings.database.url.is_none());
        Ok(())
    });
}

/// The variables in the first column of the table in docs/configuration.md.
fn documented_variables() -> Vec<String> {
    let page = include_str!("../../../../docs/configuration.md");
    // The table of every variable comes before the page's first section.
    let table = page.split("\n## ").next().unwrap_or_default();
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A value of the right type for each variable.
fn sample(variable: &str) -> &'static str {
    match variable {
        "APP_ENV" => "test",
        "LOG_FORMAT" => "json",
        "CACHE_ENABLED" | "MIGRATE_ON_START" => "false",
        "ORDER_STEP_SECONDS" => "2.5",
        "DATABASE_URL" => "postgres://u@h/d",
        "REDIS_URL" => "redis://h/",
        "ADMIN_EMAIL" => "a@x.io",
        "CURRENCY" => "JPY",
        "TRUSTED_PROXIES" => "10.0.0.0/8, 192.0.2.1",
        "WEBHOOK_ALLOW_PRIVATE" | "METRICS_PUBLIC" => "true",
        "FREE_TEXT_ORDERS" => "false",
        "WEBHOOK_MAX_ATTEMPTS" | "WEBHOOK_RETENTION_HOURS" => "7",
        "EXPORTS_AT_ONCE" | "EXPORT_ROWS_PER_SECOND" => "7",
        v if v.ends_with("_PORT") => "4242",
        v if v.ends_with("_PER_MINUTE")
            || v.ends_with("_PER_HOUR")
            || v.ends_with("_PER_USER")
            || v.starts_with("HASH_") =>
        {
            "7"
        }
        v if v.ends_with("_SECONDS") || v.ends_with("_MS") || v.ends_with("_SIZE") => "7",
        v if v.ends_with("_LENGTH") => "12",
        _ => "a-sample-value-of-more-than-32-bytes",
    }
}

/// Read by others than the settings: the log filter by tracing, the directory by `load`.
const NOT_SETTINGS: [&str; 2] = ["RUST_LOG", "TRACHIOS_CONFIG_DIR"];

#[test]
fn every_documented_variable_is_read_from_the_environment() {
    let documented = documented_variables();
    assert!(documented.len() >= 20, "parsed the table: {documented:?}");
    for variable in documented
        .iter()
        .filter(|v| !NOT_SETTINGS.contains(&v.as_str()))
    {
        let path = path_of(variable)
            .unwrap_or_else(|| panic!("{variable} is documented but no setting reads it"));
        Jail::expect_with(|jail| {
            jail.set_env(variable, sample(variable));
            let figment = layers(Path::new("config")).map_err(|e| e.to_string())?;
            let source = figment
                .find_metadata(&path)
                .map(|m| m.name.to_string())
                .unwrap_or_default();
            assert!(
                source.contains("environment"),
                "{variable} should set {path}, which came from {source:?}"
            );
            load(Path::new("config")).map_err(|e| format!("{variable}: {e}"))?;
            Ok(())
        });
    }
}

#[test]
fn every_setting_is_documented_in_the_configuration_page() {
    let documented = documented_variables();
    for (variable, _, _) in ENVIRONMENT.iter() {
        assert!(
            documented.iter().any(|d| d == variable),
            "{variable} is read but not in docs/configuration.md's table"
        );
    }
}

#[test]
fn trusted_proxies_are_addresses_or_networks_and_anything_else_is_refused_by_name() {
    let mut settings = Settings::default();
    settings.auth.jwt_secret = SecretString::from("a-secret-of-at-least-thirty-two-bytes");
    settings.limits.trusted_proxies = " 10.0.0.0/8, 192.0.2.1 ,::1".into();
    let networks = settings
        .clone()
        .validated()
        .unwrap()
        .trusted_proxies()
        .unwrap();
    assert_eq!(networks.len(), 3);
    settings.limits.trusted_proxies = "10.0.0.0/8, proxy.local".into();
    let err = settings.validated().unwrap_err().to_string();
    assert!(err.starts_with("TRUSTED_PROXIES"), "{err}");
}

#[test]
fn formatted_settings_show_no_secret_and_no_password_in_a_url() {
    const SECRET: &str = "s3cr3t-value-that-must-not-show";
    let mut settings = base();
    settings.auth.jwt_secret = SECRET.into();
    settings.auth.admin_password = Some(SECRET.into());
    settings.database.password = Some(SECRET.into());
    settings.database.url = Some(format!("postgres://app:{SECRET}@db/trachios").into());
    settings.cache.redis_password = Some(SECRET.into());
    settings.cache.redis_url = Some(format!("redis://:{SECRET}@cache:6379/").into());
    settings.server.metrics_token = Some(SECRET.into());
    let formatted = format!("{settings:?}");
    assert!(!formatted.contains(SECRET), "{formatted}");
    assert!(
        formatted.contains("jwt_secret"),
        "the fields are there: {formatted}"
    );
}
