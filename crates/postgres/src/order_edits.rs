//! An order's edit in one transaction: the order row first (as every status change takes
//! it), then the products it names in id order (as every placement takes them), so that an
//! edit and a cancellation of the same order never wait for each other's locks; then the
//! domain decides against both as held, and its decision is written with its event and its
//! stock movements.

use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};
use trachios_domain::{DomainError, Order, PendingEdit, UserId};

use crate::error::{refused, written, QueryFailure};
use crate::pool::{connection, PgPool};
use crate::rows::{DbActor, DetailColumns, OrderRow};
use crate::schema::sql_types;
use crate::statement::statement;
use crate::stock;

/// Holds the order while it still has the version the edit was decided at; a concurrent
/// change makes this wait and then find nothing.
const HOLD: &str = "SELECT id FROM orders WHERE id = $1 AND version = $2 FOR UPDATE";

/// The new contents and version, and the `edited` event, in one statement.
const EDIT: &str = "\
WITH o AS (
    UPDATE orders
    SET item_description = $3, lines = $4, currency = $5, total = $6, shipping_address = $7,
        note = $8, version = $9, updated_at = $10
    WHERE id = $1 AND version = $2
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, kind, from_status, to_status, actor, actor_id, created_at, version, next_step_at, replaced)
    SELECT id, 'edited', status, status, $11, $12, $10, version, next_step_at, $13 FROM o
)
SELECT * FROM o";

pub(crate) async fn edit(pool: &PgPool, edit: PendingEdit) -> Result<Option<Order>, DomainError> {
    let mut conn = connection(pool).await?;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        // A SELECT's count is the rows it returned: 0 when the version moved on.
        let held = statement(HOLD)
            .bind::<BigInt, _>(edit.order_id.get())
            .bind::<BigInt, _>(edit.expected_version)
            .execute(conn)
            .await?;
        if held == 0 {
            return Ok(None);
        }
        let mut stock = stock::lock(conn, &edit.named_products()).await?;
        let edited = edit.decide(&mut stock).map_err(refused)?;
        let columns = DetailColumns::of(&edited.details).map_err(refused)?;
        let replaced =
            serde_json::to_value(edit.replaced()).map_err(|e| refused(DomainError::internal(e)))?;
        let Some(row) = statement(EDIT)
            .bind::<BigInt, _>(edit.order_id.get())
            .bind::<BigInt, _>(edit.expected_version)
            .bind::<Text, _>(edited.item_description.as_str())
            .bind::<Jsonb, _>(columns.lines)
            .bind::<Nullable<Text>, _>(columns.currency)
            .bind::<Nullable<BigInt>, _>(columns.total)
            .bind::<Nullable<Jsonb>, _>(columns.shipping_address)
            .bind::<Nullable<Text>, _>(columns.note)
            .bind::<BigInt, _>(edit.new_version)
            .bind::<Timestamptz, _>(edit.at)
            .bind::<sql_types::OrderActor, _>(DbActor(edit.actor.kind()))
            .bind::<Nullable<BigInt>, _>(edit.actor.user_id().map(UserId::get))
            .bind::<Jsonb, _>(replaced)
            .load::<OrderRow>(conn)
            .await
            .map(written)?
        else {
            return Err(refused(DomainError::internal(
                "an order held for its edit was not updated",
            )));
        };
        let order = row.into_order().map_err(refused)?;
        stock::record(conn, &edited.ledger(&edit)).await?;
        Ok(Some(order))
    })
    .await
    .or_failure_on(&mut conn)
    .await
}
