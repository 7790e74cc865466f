use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use trachios_domain::{DomainError, OrderId, OrderStatus};

use crate::error::query_error;
use crate::pool::{connection, PgPool};
use crate::rows::{DbActor, DbStatus};
use crate::schema::order_events;

/// One recorded status change of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    /// `system`, `customer` or `admin`.
    pub actor: &'static str,
    pub actor_id: Option<i64>,
    pub at: DateTime<Utc>,
}

type EventRow = (
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
            order_events::from_status,
            order_events::to_status,
            order_events::actor,
            order_events::actor_id,
            order_events::created_at,
        ))
        .load(&mut conn)
        .await
        .map_err(query_error)?;
    Ok(rows
        .into_iter()
        .map(|(from, to, actor, actor_id, at)| OrderEvent {
            from: from.map(Into::into),
            to: to.into(),
            actor: match actor {
                DbActor::System => "system",
                DbActor::Customer => "customer",
                DbActor::Admin => "admin",
            },
            actor_id,
            at,
        })
        .collect())
}
