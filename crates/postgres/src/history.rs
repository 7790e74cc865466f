use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use trachios_domain::{DomainError, EventKind, Order, OrderEvent, OrderId, OrderStatus, UserId};

use crate::error::QueryFailure;
use crate::pool::{connection, PgPool};
use crate::rows::{DbActor, DbStatus, OrderRow};
use crate::schema::order_events;

type EventRow = (
    i64,
    String,
    Option<DbStatus>,
    DbStatus,
    DbActor,
    Option<i64>,
    DateTime<Utc>,
);

/// An order's status history, oldest first.
pub async fn order_history(pool: &PgPool, id: OrderId) -> Result<Vec<OrderEvent>, DomainError> {
    let mut conn = connection(pool).await?;
    let rows: Vec<EventRow> = order_events::table
        .filter(order_events::order_id.eq(id.get()))
        .order(order_events::id.asc())
        .select((
            order_events::id,
            order_events::kind,
            order_events::from_status,
            order_events::to_status,
            order_events::actor,
            order_events::actor_id,
            order_events::created_at,
        ))
        .load(&mut conn)
        .await
        .or_failure_on(&mut conn)
        .await?;
    rows.into_iter()
        .map(|(event_id, kind, from, to, actor, actor_id, at)| {
            Ok(OrderEvent {
                id: event_id,
                order_id: id,
                kind: EventKind::parse(&kind).map_err(DomainError::corrupt_row)?,
                from: from.map(|s| s.0),
                to: to.0,
                actor: actor.0,
                actor_id: actor_id
                    .map(UserId::parse)
                    .transpose()
                    .map_err(DomainError::corrupt_row)?,
                at,
            })
        })
        .collect()
}

#[derive(QueryableByName)]
struct AuditRow {
    #[diesel(embed)]
    order: OrderRow,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    events: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<crate::schema::sql_types::OrderStatus>)]
    last_to: Option<DbStatus>,
}

/// Every order with its number of events and the status its last event recorded: the
/// audit that every change was written together with its event.
pub async fn orders_with_event_counts(
    pool: &PgPool,
) -> Result<Vec<(Order, i64, Option<OrderStatus>)>, DomainError> {
    let mut conn = connection(pool).await?;
    let rows: Vec<AuditRow> = diesel::sql_query(
        "SELECT o.*,
                (SELECT count(*) FROM order_events e WHERE e.order_id = o.id) AS events,
                (SELECT e.to_status FROM order_events e WHERE e.order_id = o.id
                 ORDER BY e.id DESC LIMIT 1) AS last_to
         FROM orders o ORDER BY o.id",
    )
    .load(&mut conn)
    .await
    .or_failure_on(&mut conn)
    .await?;
    rows.into_iter()
        .map(|r| Ok((r.order.into_order()?, r.events, r.last_to.map(|s| s.0))))
        .collect()
}
