//! `migrate` and `seed`, against the database the configuration names.

use std::sync::Arc;

use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use trachios_auth::{Argon2Hasher, JwtTokenService};
use trachios_domain::ports::{OrderRepository, SystemClock};
use trachios_domain::services::{AccountService, NoCache, OrderService};
use trachios_domain::{Caller, DomainError, Email, ItemDescription, Name, Password, Role};
use trachios_postgres::{build_pool, PgOrderRepository, PgUserRepository, PoolSettings};
use trachios_server::Settings;

fn settings() -> anyhow::Result<Settings> {
    Settings::load().context("reading the configuration (config/ and the environment)")
}

pub async fn migrate(sub: Option<&str>) -> anyhow::Result<()> {
    let url = settings()?.database_url()?;
    let url = url.expose_secret();
    let hint = || {
        "is PostgreSQL running, and does the database exist? (DATABASE_URL or POSTGRES_* select it; `cargo xtask dev` creates it)"
    };
    match sub {
        None => {
            let applied = trachios_postgres::migrate(url).await.with_context(hint)?;
            if applied.is_empty() {
                println!("no pending migrations");
            }
            for name in applied {
                println!("applied {name}");
            }
        }
        Some("--revert") => println!(
            "reverted {}",
            trachios_postgres::revert_last(url)
                .await
                .with_context(hint)?
        ),
        Some("status") => {
            for m in trachios_postgres::migration_status(url)
                .await
                .with_context(hint)?
            {
                println!("[{}] {}", if m.applied { "x" } else { " " }, m.name);
            }
        }
        Some(other) => bail!("unknown migrate option {other:?}: use --revert or status"),
    }
    Ok(())
}

pub async fn seed(demo_customers: usize) -> anyhow::Result<()> {
    let settings = settings()?;
    let (Some(email), Some(password)) = (&settings.auth.admin_email, &settings.auth.admin_password)
    else {
        bail!("set ADMIN_EMAIL and ADMIN_PASSWORD (e.g. in .env or the environment) to seed the admin");
    };
    let url = settings.database_url()?;
    let url = url.expose_secret();
    trachios_postgres::migrate(url)
        .await
        .context("applying migrations before seeding")?;
    let pool = build_pool(url, &PoolSettings::default())?;
    let users = Arc::new(PgUserRepository::new(pool.clone()));
    let orders: Arc<dyn OrderRepository> = Arc::new(PgOrderRepository::new(pool));
    let hasher = Arc::new(Argon2Hasher::new(trachios_auth::HashLimits::default())?);
    let tokens = Arc::new(JwtTokenService::new(
        settings.auth.jwt_secret.expose_secret().as_bytes(),
    )?);
    let accounts = AccountService::new(users, hasher, tokens, Arc::new(SystemClock));
    trachios_server::seed::seed_admin(&accounts, email, password.expose_secret()).await?;
    println!("admin {email} is present");

    let step = chrono::Duration::from_std(settings.order_step())
        .context("ORDER_STEP_SECONDS is too large")?;
    let order_service = OrderService::new(orders, Arc::new(NoCache), Arc::new(SystemClock), step);
    for n in 1..=demo_customers {
        let email = format!("demo{n}@trachios.local");
        let user = match accounts
            .create_account(
                Name::parse(&format!("Demo Customer {n}"))?,
                Email::parse(&email)?,
                Password::parse("demo-password")?,
                Role::Customer,
            )
            .await
        {
            Ok(user) => user,
            Err(DomainError::EmailTaken) => {
                println!("{email} exists; skipped");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let caller = Caller {
            user_id: user.id,
            role: Role::Customer,
        };
        for item in ["Mechanical keyboard", "27-inch monitor", "Standing desk"] {
            order_service
                .create(caller, ItemDescription::parse(item)?)
                .await?;
        }
        println!("created {email} (password: demo-password) with 3 orders");
    }
    Ok(())
}
