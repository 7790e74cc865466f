use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber: human-readable or one JSON object per line, filtered by
/// `RUST_LOG` (default `info`). A second call is a no-op, which tests rely on.
pub fn init(log_format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = if log_format == LogFormat::Json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
    if installed.is_err() {
        tracing::debug!("a tracing subscriber was already installed; keeping it");
    }
}
