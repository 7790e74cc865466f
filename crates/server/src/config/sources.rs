//! Where settings come from. Files and the environment use flat names — the Go service's
//! environment variables, in lower case in the files — which are mapped to the nested
//! settings through the table the sections declare, so that no name is listed twice.

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Dict;
use figment::Figment;

use super::{
    AppSettings, AuthSettings, CacheConfig, CatalogSettings, ConfigError, DatabaseSettings,
    LifecycleSettings, LimitSettings, Profile, ServerSettings, Settings, StreamSettings,
    VariablesSeen, WebhookSettings,
};

/// Every environment variable the service reads, as `(VARIABLE, section, field)`.
pub static ENVIRONMENT: std::sync::LazyLock<Vec<(&'static str, &'static str, &'static str)>> =
    std::sync::LazyLock::new(|| {
        let sections: [(&str, &[(&str, &str)]); 10] = [
            ("app", AppSettings::ENV),
            ("server", ServerSettings::ENV),
            ("database", DatabaseSettings::ENV),
            ("cache", CacheConfig::ENV),
            ("auth", AuthSettings::ENV),
            ("catalog", CatalogSettings::ENV),
            ("lifecycle", LifecycleSettings::ENV),
            ("limits", LimitSettings::ENV),
            ("streams", StreamSettings::ENV),
            ("webhooks", WebhookSettings::ENV),
        ];
        sections
            .into_iter()
            .flat_map(|(section, fields)| {
                fields
                    .iter()
                    .map(move |(env, field)| (*env, section, *field))
            })
            .collect()
    });

/// The nested path (`server.port`) that a flat name (`SERVER_PORT`, `server_port`) sets.
pub(super) fn path_of(flat: &str) -> Option<String> {
    ENVIRONMENT
        .iter()
        .find(|(env, _, _)| env.eq_ignore_ascii_case(flat))
        .map(|(_, section, field)| format!("{section}.{field}"))
}

/// Defaults in code, then `default.toml`, then `{profile}.toml`, then the environment.
pub(super) fn layers(dir: &Path) -> Result<Figment, ConfigError> {
    let profile = profile_from_env()?;
    let mut figment = Figment::new();
    for file in ["default.toml".to_owned(), format!("{profile}.toml")] {
        figment = figment.merge(file_layer(&dir.join(&file))?);
    }
    Ok(figment.merge(Env::raw().filter_map(|key| path_of(key.as_str()).map(Into::into))))
}

pub(super) fn load(dir: &Path) -> Result<Settings, ConfigError> {
    let mut settings = extract(dir)?;
    settings.seen = VariablesSeen::in_environment();
    Ok(settings)
}

fn extract(dir: &Path) -> Result<Settings, ConfigError> {
    layers(dir)?.extract::<Settings>().map_err(|err| {
        // Name the variable, not the nested path, in what the operator reads.
        let key = err
            .path
            .get(..2)
            .and_then(|path| {
                ENVIRONMENT
                    .iter()
                    .find(|(_, s, f)| path[0] == *s && path[1] == *f)
            })
            .map(|(env, _, _)| (*env).to_owned());
        match key {
            Some(key) => ConfigError::Invalid {
                key,
                problem: err.kind.to_string(),
            },
            None => ConfigError::Load(Box::new(err)),
        }
    })
}

/// `APP_ENV` picks the profile file, so it is read before anything else.
fn profile_from_env() -> Result<Profile, ConfigError> {
    match std::env::var("APP_ENV").ok().as_deref().map(str::trim) {
        None | Some("") | Some("dev") => Ok(Profile::Dev),
        Some("test") => Ok(Profile::Test),
        Some("prod") => Ok(Profile::Prod),
        Some(_) => Err(ConfigError::Invalid {
            key: "APP_ENV".into(),
            problem: "must be dev, test or prod".into(),
        }),
    }
}

/// One flat TOML file as nested settings; a key that no setting has is an error, so that
/// a typo cannot be silently ignored. A missing file is an empty layer.
fn file_layer(path: &Path) -> Result<Figment, ConfigError> {
    let flat: Dict = Figment::from(Toml::file(path))
        .extract()
        .map_err(|e| ConfigError::Load(Box::new(e)))?;
    let mut layer = Figment::new();
    for (key, value) in flat {
        let Some(nested) = path_of(&key) else {
            return Err(ConfigError::UnknownKey {
                file: path.display().to_string(),
                key,
            });
        };
        layer = layer.merge(Serialized::default(&nested, value));
    }
    Ok(layer)
}
