use std::sync::Once;

/// With `TEST_LOG=1`, every test process logs what the service logs (filtered by
/// `RUST_LOG`, default `debug`) to the test's captured output; otherwise nothing.
pub fn init_test_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1" || v == "true") {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
            // Another subscriber (a test that installs its own) wins; that is fine.
            let _ignored = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}
