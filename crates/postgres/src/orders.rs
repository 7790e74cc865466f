use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use trachios_domain::ports::OrderRepository;
use trachios_domain::{DomainError, NewOrder, Order, OrderId, OrderStatus, StatusChange};

use crate::error::query_error;
use crate::pool::{connection, PgPool};
use crate::rows::{DbActor, DbStatus, OrderRow};
use crate::schema::{orders, sql_types};

/// Orders and their event history in PostgreSQL.
#[derive(Clone)]
pub struct PgOrderRepository {
    pool: PgPool,
}

impl PgOrderRepository {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

const INSERT_ORDER: &str = "\
WITH o AS (
    INSERT INTO orders (customer_id, item_description, status, version, next_step_at, created_at, updated_at)
    VALUES ($1, $2, 'created', 1, $3, $4, $4)
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, from_status, to_status, actor, actor_id, created_at)
    SELECT id, NULL, status, 'customer', customer_id, created_at FROM o
)
SELECT * FROM o";

/// One compare-and-set on the version, and its event, in one statement (one transaction).
const TRANSITION: &str = "\
WITH o AS (
    UPDATE orders
    SET status = $1, version = version + 1, next_step_at = $2, updated_at = $3
    WHERE id = $4 AND version = $5
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, from_status, to_status, actor, actor_id, created_at)
    SELECT id, $6, status, $7, $8, $3 FROM o
)
SELECT * FROM o";

/// Claims a batch of due orders (rows another process holds are skipped, not waited for),
/// moves each one step, schedules the next step and records one `system` event per order —
/// all set-based, in one statement. `{NEXT}` is the domain's transition table as SQL.
const ADVANCE_DUE: &str = "\
WITH due AS (
    SELECT id, status FROM orders
    WHERE next_step_at IS NOT NULL AND next_step_at <= $1
    ORDER BY next_step_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE orders o
    SET status = {NEXT},
        version = o.version + 1,
        updated_at = $1,
        next_step_at = CASE WHEN {NEXT} IN ({TERMINAL}) THEN NULL
                            ELSE $1 + make_interval(secs => $3) END
    FROM due
    WHERE o.id = due.id
    RETURNING o.*, due.status AS from_status
), events AS (
    INSERT INTO order_events (order_id, from_status, to_status, actor, actor_id, created_at)
    SELECT id, from_status, status, 'system', NULL, $1 FROM moved
)
SELECT id, customer_id, item_description, status, version, next_step_at, created_at, updated_at
FROM moved";

/// ADVANCE_DUE with the transition table derived from `OrderStatus::next`, so that the
/// domain stays the one place the lifecycle is defined.
fn advance_due_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let arms: String = OrderStatus::ALL
            .into_iter()
            .filter_map(|s| {
                s.next()
                    .map(|n| format!(" WHEN '{s}' THEN '{n}'::order_status"))
            })
            .collect();
        let next = format!("(CASE due.status{arms} END)");
        let terminal = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .map(|s| format!("'{s}'::order_status"))
            .collect::<Vec<_>>()
            .join(", ");
        ADVANCE_DUE
            .replace("{NEXT}", &next)
            .replace("{TERMINAL}", &terminal)
    })
}

#[async_trait]
impl OrderRepository for PgOrderRepository {
    async fn insert(&self, order: NewOrder) -> Result<Order, DomainError> {
        let mut conn = connection(&self.pool).await?;
        diesel::sql_query(INSERT_ORDER)
            .bind::<BigInt, _>(order.customer_id)
            .bind::<Text, _>(order.item_description.as_str())
            .bind::<Timestamptz, _>(order.next_step_at)
            .bind::<Timestamptz, _>(order.created_at)
            .get_result::<OrderRow>(&mut conn)
            .await
            .map(Order::from)
            .map_err(query_error)
    }

    async fn find_by_id(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        orders::table
            .find(id.get())
            .select(OrderRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map(|row| row.map(Order::from))
            .map_err(query_error)
    }

    async fn list_by_customer(&self, customer_id: i64) -> Result<Vec<Order>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        orders::table
            .filter(orders::customer_id.eq(customer_id))
            .order(orders::id.desc())
            .select(OrderRow::as_select())
            .load(&mut conn)
            .await
            .map(|rows| rows.into_iter().map(Order::from).collect())
            .map_err(query_error)
    }

    async fn list_all(&self) -> Result<Vec<Order>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        orders::table
            .order(orders::id.desc())
            .select(OrderRow::as_select())
            .load(&mut conn)
            .await
            .map(|rows| rows.into_iter().map(Order::from).collect())
            .map_err(query_error)
    }

    async fn transition(&self, change: StatusChange) -> Result<Option<Order>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        diesel::sql_query(TRANSITION)
            .bind::<sql_types::OrderStatus, _>(DbStatus::from(change.to))
            .bind::<Nullable<Timestamptz>, _>(change.next_step_at)
            .bind::<Timestamptz, _>(change.at)
            .bind::<BigInt, _>(change.order_id.get())
            .bind::<BigInt, _>(change.expected_version)
            .bind::<sql_types::OrderStatus, _>(DbStatus::from(change.from))
            .bind::<sql_types::OrderActor, _>(DbActor::from(change.actor))
            .bind::<Nullable<BigInt>, _>(change.actor.user_id())
            .get_result::<OrderRow>(&mut conn)
            .await
            .optional()
            .map(|row| row.map(Order::from))
            .map_err(query_error)
    }

    async fn advance_due(
        &self,
        now: DateTime<Utc>,
        step: Duration,
        limit: i64,
    ) -> Result<Vec<Order>, DomainError> {
        let step_seconds = step.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
        let mut conn = connection(&self.pool).await?;
        diesel::sql_query(advance_due_sql())
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(limit)
            .bind::<Double, _>(step_seconds)
            .load::<OrderRow>(&mut conn)
            .await
            .map(|rows| rows.into_iter().map(Order::from).collect())
            .map_err(query_error)
    }
}
