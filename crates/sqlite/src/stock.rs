//! Stock moved by orders, inside the write transaction that stores the order's change. The
//! single writer orders every change, so the products are read, the domain decides against
//! them, and what it decided is written: each product's new stock and one ledger row per
//! movement.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::SqliteConnection;
use trachios_domain::{DomainError, LedgerEntry, LockedStock, ProductId, ProductRef, UserId};

use crate::error::refused;
use crate::products::{ProductRow, COLUMNS};
use crate::rows::micros;

const SET_STOCK: &str = "UPDATE products SET stock = ?, updated_at = ? WHERE id = ?";

const MOVEMENT: &str = "\
INSERT INTO stock_movements (product_id, delta, stock_after, reason, order_id, actor, actor_id, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/// Reads the products `named` by id or by sku (the lists bound as JSON arrays).
pub(crate) fn hold<'a>(
    conn: &mut SqliteConnection,
    named: impl IntoIterator<Item = &'a ProductRef>,
) -> QueryResult<LockedStock> {
    let (mut ids, mut skus) = (Vec::new(), Vec::new());
    for product in named {
        match product {
            ProductRef::Id(id) => ids.push(serde_json::Value::from(id.get())),
            ProductRef::Sku(sku) => skus.push(serde_json::Value::from(sku.key())),
        }
    }
    let rows = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM products
         WHERE id IN (SELECT value FROM json_each(?))
            OR lower(sku) IN (SELECT value FROM json_each(?))
         ORDER BY id"
    ))
    .bind::<Text, _>(serde_json::Value::Array(ids).to_string())
    .bind::<Text, _>(serde_json::Value::Array(skus).to_string())
    .load::<ProductRow>(conn)?;
    let products = rows
        .into_iter()
        .map(ProductRow::into_product)
        .collect::<Result<Vec<_>, DomainError>>()
        .map_err(refused)?;
    Ok(LockedStock::new(products))
}

/// Reads products by id.
pub(crate) fn hold_ids(
    conn: &mut SqliteConnection,
    ids: Vec<ProductId>,
) -> QueryResult<LockedStock> {
    let named: Vec<ProductRef> = ids.into_iter().map(ProductRef::Id).collect();
    hold(conn, &named)
}

/// Writes each movement's stock and ledger row.
pub(crate) fn record(conn: &mut SqliteConnection, entries: &[LedgerEntry]) -> QueryResult<()> {
    for entry in entries {
        let at = micros(entry.at);
        diesel::sql_query(SET_STOCK)
            .bind::<BigInt, _>(entry.movement.stock_after.get())
            .bind::<BigInt, _>(at)
            .bind::<BigInt, _>(entry.movement.product_id.get())
            .execute(conn)?;
        diesel::sql_query(MOVEMENT)
            .bind::<BigInt, _>(entry.movement.product_id.get())
            .bind::<BigInt, _>(entry.movement.delta)
            .bind::<BigInt, _>(entry.movement.stock_after.get())
            .bind::<Text, _>(entry.reason.as_str())
            .bind::<BigInt, _>(entry.order_id.get())
            .bind::<Text, _>(entry.actor.kind().as_str())
            .bind::<Nullable<BigInt>, _>(entry.actor.user_id().map(UserId::get))
            .bind::<BigInt, _>(at)
            .execute(conn)?;
    }
    Ok(())
}
