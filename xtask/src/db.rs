//! `migrate` and `seed`, against the database the configuration names.

use std::sync::Arc;

use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use trachios_auth::{Argon2Hasher, JwtTokenService};
use trachios_domain::ports::ProductRepository;
use trachios_domain::ports::SystemClock;
use trachios_domain::services::{AccountService, NoCache, OrderService};
use trachios_domain::{
    Actor, Caller, Currency, DomainError, Email, ItemDescription, LineRequest, LineRequests, Money,
    Name, NewProduct, OrderItems, OrderRequest, Password, ProductDescription, ProductName,
    ProductRef, Quantity, Role, Sku, Stock,
};
use trachios_http::OrderJson;
use trachios_server::config::StoreChoice;
use trachios_server::Settings;

fn settings() -> anyhow::Result<Settings> {
    Settings::load().context("reading the configuration (config/ and the environment)")
}

pub async fn migrate(sub: Option<&str>) -> anyhow::Result<()> {
    let settings = settings()?;
    let url = match settings.store()? {
        StoreChoice::Postgres(url) => url,
        StoreChoice::Sqlite(path) => return migrate_embedded(&path, sub).await,
    };
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

/// The embedded store migrates whenever it opens; reverting is for PostgreSQL only (an
/// embedded file is copied, not rolled back: `sqlite3 trachios.db ".backup before.db"`).
async fn migrate_embedded(path: &std::path::Path, sub: Option<&str>) -> anyhow::Result<()> {
    if sub.is_some() {
        bail!(
            "migrate {} works on PostgreSQL; the embedded store {} applies its migrations when it opens",
            sub.unwrap_or_default(),
            path.display()
        );
    }
    let (_, applied) =
        trachios_sqlite::SqliteStore::open(trachios_sqlite::SqliteSettings::new(path), None)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
    if applied.is_empty() {
        println!("no pending migrations");
    }
    for name in applied {
        println!("applied {name}");
    }
    Ok(())
}

pub async fn seed(demo_customers: usize) -> anyhow::Result<()> {
    let settings = settings()?;
    let (Some(email), Some(password)) = (&settings.auth.admin_email, &settings.auth.admin_password)
    else {
        bail!("set ADMIN_EMAIL and ADMIN_PASSWORD (e.g. in .env or the environment) to seed the admin");
    };
    // Whichever store the configuration names, migrated as the server would.
    let mut opening = settings.clone();
    opening.database.migrate_on_start = true;
    let store = trachios_server::store::open(&opening, &trachios_memory::ChangeHub::new())
        .await
        .context("opening the store to seed")?;
    let (users, orders, products) = (store.users, store.orders, store.products);
    let hasher = Arc::new(Argon2Hasher::new(trachios_auth::HashLimits::default())?);
    let tokens = Arc::new(JwtTokenService::new(
        settings.auth.jwt_secret.expose_secret().as_bytes(),
    )?);
    let accounts = AccountService::new(
        users,
        hasher,
        tokens,
        Arc::new(SystemClock),
        trachios_domain::PasswordPolicy::default(),
    );
    trachios_server::seed::seed_admin(&accounts, email, password.expose_secret()).await?;
    println!("admin {email} is present");

    let step = chrono::Duration::from_std(settings.order_step())
        .context("ORDER_STEP_SECONDS is too large")?;
    let order_service = OrderService::new(
        orders,
        Arc::new(NoCache),
        Arc::new(OrderJson),
        Arc::new(SystemClock),
        step,
    );
    if demo_customers == 0 {
        return Ok(());
    }
    let catalog = seed_catalog(products.as_ref(), demo_customers, settings.currency()?).await?;
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
        // Two baskets of the demo catalog and one order of free text, as v1 clients send.
        for basket in [&[(0, 2), (1, 1)][..], &[(2, 1), (5, 2)][..]] {
            let lines = basket
                .iter()
                .map(|&(product, units)| {
                    Ok(LineRequest {
                        product: ProductRef::Sku(catalog[product].clone()),
                        quantity: Quantity::parse(units, "quantity")?,
                    })
                })
                .collect::<Result<Vec<_>, DomainError>>()?;
            let request = OrderRequest {
                items: OrderItems::Lines(LineRequests::parse(lines)?),
                shipping_address: None,
                note: None,
            };
            order_service.create(caller, request).await?;
        }
        order_service
            .create(
                caller,
                OrderRequest::free_text(ItemDescription::parse("Gift wrapping for the desk")?),
            )
            .await?;
        println!("created {email} (password: demo-password) with 3 orders");
    }
    Ok(())
}

/// The demo catalog, with stock enough for every demo customer's orders; a product whose
/// sku exists already is left as it is. Its skus, in the order of `DEMO_PRODUCTS`.
async fn seed_catalog(
    products: &dyn ProductRepository,
    customers: usize,
    currency: Currency,
) -> anyhow::Result<Vec<Sku>> {
    const DEMO_PRODUCTS: [(&str, &str, i64); 6] = [
        ("MUG-01", "Enamel mug", 1250),
        ("LAMP-7", "Desk lamp", 4999),
        ("KEYB-1", "Mechanical keyboard", 8900),
        ("MON-27", "27-inch monitor", 24900),
        ("DESK-1", "Standing desk", 39900),
        ("CABLE-2", "USB-C cable", 990),
    ];
    let stock = i64::try_from(customers)?
        .saturating_mul(5)
        .saturating_add(100);
    let mut skus = Vec::new();
    for (sku, name, price) in DEMO_PRODUCTS {
        let sku = Sku::parse(sku)?;
        let created = products
            .insert(
                NewProduct {
                    sku: sku.clone(),
                    name: ProductName::parse(name)?,
                    description: ProductDescription::default(),
                    price: Money::new(price, currency),
                    stock: Stock::parse(stock.min(Stock::MAX))?,
                    created_at: chrono::Utc::now(),
                },
                Actor::System,
            )
            .await?;
        match created {
            Some(_) => println!("product {} with {stock} units", sku.as_str()),
            None => println!("product {} exists; left as it is", sku.as_str()),
        }
        skus.push(sku);
    }
    Ok(skus)
}

/// `cargo xtask copy-to-postgres URL [FILE]`.
pub async fn copy_to_postgres(args: &[String]) -> anyhow::Result<()> {
    let (url, file) = match args {
        [url] => (url, None),
        [url, file] => (url, Some(std::path::PathBuf::from(file))),
        _ => bail!("usage: cargo xtask copy-to-postgres postgres://USER@HOST/DB [FILE]"),
    };
    let file = match file {
        Some(file) => file,
        None => match settings()?.store()? {
            StoreChoice::Sqlite(path) => path,
            StoreChoice::Postgres(_) => trachios_server::config::DEFAULT_SQLITE_FILE.into(),
        },
    };
    let copied = trachios_server::transfer::copy_to_postgres(&file, url).await?;
    println!(
        "copied {} users, {} products, {} orders, {} events, {} stock movements and {} logged-out tokens from {} into PostgreSQL",
        copied.users,
        copied.products,
        copied.orders,
        copied.events,
        copied.movements,
        copied.revoked_tokens,
        file.display()
    );
    println!(
        "now run the service with DATABASE_URL set to that database (and REDIS_URL for the cache)"
    );
    Ok(())
}
