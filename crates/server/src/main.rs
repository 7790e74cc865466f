use trachios_server::{startup, telemetry, Application, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A `.env` file, as the Go service read one; variables already set take precedence.
    let dotenv = dotenvy::dotenv();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            let reason = trachios_domain::error_chain(&err);
            eprintln!("trachios: refusing to start: {reason}");
            std::process::exit(2);
        }
    };
    telemetry::init(settings.app.log_format);
    if let Ok(path) = dotenv {
        tracing::info!(path = %path.display(), "read environment from file");
    }
    let app = Application::build(settings).await?;
    app.run_until(startup::shutdown_signal()).await
}
