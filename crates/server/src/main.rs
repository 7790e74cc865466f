use trachios_server::{healthcheck, startup, telemetry, Application, Settings};

// Requests allocate and free many small buffers across worker threads; mimalloc's
// thread-local free lists cost a fraction of glibc's malloc here, and its arena's huge pages
// make argon2's 19 MiB of working memory faster to hash in. It costs memory (26 MiB more at
// idle, 6 KiB more per open stream): see docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        match healthcheck::probe(&settings).await {
            Ok(answer) => {
                println!("{answer}");
                return Ok(());
            }
            Err(reason) => {
                eprintln!("trachios: not ready: {reason}");
                std::process::exit(1);
            }
        }
    }
    telemetry::init(settings.app.log_format);
    if let Ok(path) = dotenv {
        tracing::info!(path = %path.display(), "read environment from file");
    }
    let app = Application::build(settings).await?;
    app.run_until(startup::shutdown_signal()).await
}
