//! Stock moved by orders, inside the transaction that stores the order's change. The
//! products an order names are locked first, in id order — every transaction that moves
//! stock takes them in that order, so two orders never wait for each other's rows — then the
//! domain decides against them as locked, and what it decided is written here: each
//! product's new stock and one ledger row per movement.

use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use trachios_domain::{DomainError, LedgerEntry, LockedStock, ProductId, ProductRef, UserId};

use crate::error::refused;
use crate::products::ProductRow;
use crate::rows::DbActor;
use crate::schema::sql_types;
use crate::statement::statement;

/// Locks in id order (the sort runs below the lock) and reads what pricing needs.
const LOCK: &str = "\
SELECT id, sku, name, description, price, currency, stock, active, created_at, updated_at
FROM products WHERE id = ANY($1) OR lower(sku) = ANY($2)
ORDER BY id
FOR UPDATE";

/// Each product's last stock in the batch, and one ledger row per movement, in the order
/// decided.
const RECORD: &str = "\
WITH m AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[],
                         $6::order_actor[], $7::bigint[], $8::timestamptz[])
        WITH ORDINALITY AS m(product_id, delta, stock_after, reason, order_id, actor, actor_id,
                             created_at, n)
), stock AS (
    UPDATE products p SET stock = last.stock_after, updated_at = last.created_at
    FROM (SELECT DISTINCT ON (product_id) product_id, stock_after, created_at
          FROM m ORDER BY product_id, n DESC) last
    WHERE p.id = last.product_id
)
INSERT INTO stock_movements (product_id, delta, stock_after, reason, order_id, actor, actor_id, created_at)
SELECT product_id, delta, stock_after, reason, order_id, actor, actor_id, created_at FROM m ORDER BY n";

/// Locks the products `named` by id or by sku, and holds them for the domain's decisions.
pub(crate) async fn lock<'a>(
    conn: &mut AsyncPgConnection,
    named: impl IntoIterator<Item = &'a ProductRef>,
) -> diesel::QueryResult<LockedStock> {
    let (mut ids, mut skus) = (Vec::new(), Vec::new());
    for product in named {
        match product {
            ProductRef::Id(id) => ids.push(id.get()),
            ProductRef::Sku(sku) => skus.push(sku.key()),
        }
    }
    if ids.is_empty() && skus.is_empty() {
        return Ok(LockedStock::new(Vec::new()));
    }
    let rows = statement(LOCK)
        .bind::<Array<BigInt>, _>(ids)
        .bind::<Array<Text>, _>(skus)
        .load::<ProductRow>(conn)
        .await?;
    let products = rows
        .into_iter()
        .map(ProductRow::into_product)
        .collect::<Result<Vec<_>, DomainError>>()
        .map_err(refused)?;
    Ok(LockedStock::new(products))
}

/// Locks products by id.
pub(crate) async fn lock_ids(
    conn: &mut AsyncPgConnection,
    ids: Vec<ProductId>,
) -> diesel::QueryResult<LockedStock> {
    let named: Vec<ProductRef> = ids.into_iter().map(ProductRef::Id).collect();
    lock(conn, &named).await
}

/// Writes the movements' stock and ledger rows; nothing when there are none.
pub(crate) async fn record(
    conn: &mut AsyncPgConnection,
    entries: &[LedgerEntry],
) -> diesel::QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&LedgerEntry) -> i64| entries.iter().map(f).collect::<Vec<_>>();
    statement(RECORD)
        .bind::<Array<BigInt>, _>(column(|e| e.movement.product_id.get()))
        .bind::<Array<BigInt>, _>(column(|e| e.movement.delta))
        .bind::<Array<BigInt>, _>(column(|e| e.movement.stock_after.get()))
        .bind::<Array<Text>, _>(
            entries
                .iter()
                .map(|e| e.reason.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(column(|e| e.order_id.get()))
        .bind::<Array<sql_types::OrderActor>, _>(
            entries
                .iter()
                .map(|e| DbActor(e.actor.kind()))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<BigInt>>, _>(
            entries
                .iter()
                .map(|e| e.actor.user_id().map(UserId::get))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamptz>, _>(entries.iter().map(|e| e.at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
}
