//! Outgrowing the embedded store: copying its data into PostgreSQL in one command.

use std::path::Path;

use anyhow::{bail, Context};
use trachios_postgres::{Import, ImportCounts};
use trachios_sqlite::{SqliteSettings, SqliteStore};

/// Rows read and written at a time: a bounded amount of memory whatever the file's size,
/// and well under PostgreSQL's limit of bind parameters per statement.
const PAGE: i64 = 1000;

/// Copies every account (password hashes included), order, event and revoked token of the
/// embedded store at `from` into the PostgreSQL database at `to`, keeping ids, in one
/// transaction. The database is migrated first and must hold no users or orders; the file
/// must not be in use by a server (its lock says so).
pub async fn copy_to_postgres(from: &Path, to: &str) -> anyhow::Result<ImportCounts> {
    if !from.is_file() {
        bail!("{} does not exist", from.display());
    }
    let (source, _) = SqliteStore::open(SqliteSettings::new(from), None)
        .await
        .with_context(|| format!("opening {}", from.display()))?;
    trachios_postgres::migrate(to)
        .await
        .context("migrating the PostgreSQL database")?;
    let mut import = Import::begin(to).await?;

    let mut after = 0;
    loop {
        let page = source.export_users(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.user.id.get();
        import.users(&page).await?;
    }
    let mut after = 0;
    loop {
        let page = source.export_products(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id.get();
        import.products(&page).await?;
    }
    let mut after = 0;
    loop {
        let page = source.export_orders(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id.get();
        import.orders(&page).await?;
    }
    let mut after = 0;
    loop {
        let page = source.export_events(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.event.id;
        import.events(&page).await?;
    }
    // After the orders: a movement names the order that caused it.
    let mut after = 0;
    loop {
        let page = source.export_movements(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        import.movements(&page).await?;
    }
    let mut after = String::new();
    loop {
        let page = source.export_revoked_tokens(after.clone(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.token_id.as_str().to_owned();
        import.revoked_tokens(&page).await?;
    }
    Ok(import.commit().await?)
}
