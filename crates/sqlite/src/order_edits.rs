//! An order's edit in the embedded store: under the single writer, the order is checked
//! for the version the edit was decided at, the products it names are read, the domain
//! decides, and its new contents, `edited` event and stock movements are written in the
//! same transaction.

use diesel::prelude::*;
use diesel::SqliteConnection;
use trachios_domain::{EventKind, Order, PendingEdit};

use crate::error::refused;
use crate::rows::{micros, DetailColumns, NewEventRow, OrderRow};
use crate::schema::{order_events, orders};
use crate::stock;

pub(crate) fn edit(conn: &mut SqliteConnection, edit: &PendingEdit) -> QueryResult<Option<Order>> {
    let current = orders::table
        .find(edit.order_id.get())
        .filter(orders::version.eq(edit.expected_version))
        .select(orders::id)
        .first::<i64>(conn)
        .optional()?;
    if current.is_none() {
        return Ok(None);
    }
    let mut stock = stock::hold(conn, &edit.named_products())?;
    let edited = edit.decide(&mut stock).map_err(refused)?;
    let columns = DetailColumns::of(&edited.details).map_err(refused)?;
    let at = micros(edit.at);
    let row = diesel::update(orders::table.find(edit.order_id.get()))
        .set((
            orders::item_description.eq(edited.item_description.as_str()),
            orders::lines.eq(&columns.lines),
            orders::currency.eq(columns.currency),
            orders::total.eq(columns.total),
            orders::shipping_address.eq(&columns.shipping_address),
            orders::note.eq(&columns.note),
            orders::version.eq(edit.new_version),
            orders::updated_at.eq(at),
        ))
        .returning(OrderRow::as_returning())
        .get_result(conn)?;
    let mut event = NewEventRow::of(
        &row,
        EventKind::Edited,
        Some(edit.status),
        edit.actor.kind(),
        edit.actor.user_id(),
        at,
    )
    .map_err(refused)?;
    event.replaced = Some(
        serde_json::to_string(&edit.replaced())
            .map_err(|e| refused(trachios_domain::DomainError::internal(e)))?,
    );
    diesel::insert_into(order_events::table)
        .values(event)
        .execute(conn)?;
    let order = row.into_order().map_err(refused)?;
    stock::record(conn, &edited.ledger(edit))?;
    Ok(Some(order))
}
