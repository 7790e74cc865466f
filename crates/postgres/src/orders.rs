use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Nullable, Text, Timestamptz};
use diesel_async::AsyncConnection;
use diesel_async::RunQueryDsl;
use trachios_domain::ports::OrderRepository;
use trachios_domain::{
    AdvancedOrder, BulkClaim, BulkKeyClaim, DomainError, DueSteps, IdempotencyKey, KeyClaim,
    KeyedInsert, NewOrder, Order, OrderEvent, OrderFilter, OrderId, OrderSearch, PendingEdit,
    RequestFingerprint, StatusChange, UserId,
};

use crate::bulk_keys;
use crate::error::{refused, the_row, written, QueryFailure};
use crate::explain::explain;
use crate::like::like_pattern;
use crate::order_batches::OrderBatches;
use crate::pool::{connection, sql_limit, PgPool};
use crate::rows::{into_orders, DbActor, DbStatus, DetailColumns, OrderRow};
use crate::schema::{orders, sql_types, users};
use crate::statement::{statement, Statement};
use crate::stock;

/// Orders and their event history in PostgreSQL. Every statement stores what the domain
/// decided; none of them chooses a status, a version, a due time or an actor.
#[derive(Clone)]
pub struct PgOrderRepository {
    pool: PgPool,
    creations: OrderBatches,
}

impl PgOrderRepository {
    /// Starts the task that stores concurrent creations in batches (see `order_batches`)
    /// on the current Tokio runtime.
    pub fn new(pool: PgPool) -> Self {
        Self {
            creations: OrderBatches::start(pool.clone()),
            pool,
        }
    }

    /// PostgreSQL's plan for the query `list` runs with these arguments.
    pub async fn explain_list(
        &self,
        filter: &OrderFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<String, DomainError> {
        explain(&self.pool, list_query(filter, before, limit)).await
    }
}

/// One keyset page: the filter's conditions, ids below `before`, newest first.
fn list_query(
    filter: &OrderFilter,
    before: Option<i64>,
    limit: usize,
) -> orders::BoxedQuery<'static, Pg, SqlTypeOf<AsSelect<OrderRow, Pg>>> {
    let mut query = orders::table
        .select(OrderRow::as_select())
        .order(orders::id.desc())
        .limit(sql_limit(limit))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(orders::id.lt(before));
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(orders::customer_id.eq(customer.get()));
    }
    // `= ANY` of one value would not be read from (status, id) in id order; `=` is.
    match filter.statuses.as_slice() {
        [] => {}
        [status] => query = query.filter(orders::status.eq(DbStatus(*status))),
        several => {
            let statuses: Vec<DbStatus> = several.iter().copied().map(DbStatus).collect();
            query = query.filter(orders::status.eq_any(statuses));
        }
    }
    if let Some(after) = filter.created_after {
        query = query.filter(orders::created_at.gt(after));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(orders::created_at.lt(before));
    }
    if let Some(search) = &filter.search {
        query = query.filter(found_by(search));
    }
    query
}

type OrderCondition = Box<dyn BoxableExpression<orders::table, Pg, SqlType = Bool>>;

/// The orders a search finds: its id, its customer's e-mail, or its text through the
/// trigram index of `searched_text` (which `LIKE` reads for three characters or more).
fn found_by(search: &OrderSearch) -> OrderCondition {
    let mut any: Vec<OrderCondition> = Vec::new();
    if let Some(id) = search.id() {
        any.push(Box::new(orders::id.eq(id.get())));
    }
    if let Some(email) = search.email() {
        // One account has the address: a scalar subquery, which the planner reads from the
        // customer's index beside the others (`IN` made it walk the whole table).
        any.push(Box::new(
            orders::customer_id.eq(users::table
                .filter(users::email.eq(email.as_str().to_owned()))
                .select(users::id)
                .single_value()
                // No account has it: NULL, which keeps no order.
                .assume_not_null()),
        ));
    }
    if let Some(text) = search.text() {
        any.push(Box::new(
            sql::<Bool>("orders.searched_text LIKE ").bind::<Text, _>(like_pattern(text, true)),
        ));
    }
    any.into_iter()
        .reduce(|all, one| Box::new(all.or(one)))
        .unwrap_or_else(|| Box::new(sql::<Bool>("FALSE")))
}

/// Binds what `Order::place` decided, and the contents its request decided (`$placed`,
/// with its `DetailColumns` as `$columns`), as `$1`–`$13` of `INSERT_ORDER` and
/// `INSERT_KEYED_ORDER`.
macro_rules! bind_new_order {
    ($query:expr, $order:expr, $placed:expr, $columns:expr) => {
        $query
            .bind::<BigInt, _>($order.customer_id.get())
            .bind::<Text, _>($placed.item_description.as_str())
            .bind::<sql_types::OrderStatus, _>(DbStatus($order.status))
            .bind::<BigInt, _>($order.version)
            .bind::<Nullable<Timestamptz>, _>($order.next_step_at)
            .bind::<Timestamptz, _>($order.created_at)
            .bind::<sql_types::OrderActor, _>(DbActor($order.actor.kind()))
            .bind::<Nullable<BigInt>, _>($order.actor.user_id().map(UserId::get))
            .bind::<diesel::sql_types::Jsonb, _>($columns.lines)
            .bind::<Nullable<Text>, _>($columns.currency)
            .bind::<Nullable<BigInt>, _>($columns.total)
            .bind::<Nullable<diesel::sql_types::Jsonb>, _>($columns.shipping_address)
            .bind::<Nullable<Text>, _>($columns.note)
    };
}

pub(crate) use bind_new_order;

/// The order and its creation event, in one statement (one transaction). The event carries
/// the order's version and due time: the change feed reads orders back from events.
pub const INSERT_ORDER: &str = "\
WITH o AS (
    INSERT INTO orders (customer_id, item_description, status, version, next_step_at, created_at,
                        updated_at, lines, currency, total, shipping_address, note)
    VALUES ($1, $2, $3, $4, $5, $6, $6, $9, $10, $11, $12, $13)
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, kind, from_status, to_status, actor, actor_id, created_at, version, next_step_at)
    SELECT id, 'created', NULL, status, $7, $8, created_at, version, next_step_at FROM o
)
SELECT * FROM o";

/// Like `INSERT_ORDER`, under an idempotency key claimed in the same statement: the order
/// is inserted only if the key was free or expired. A concurrent claim of the same key
/// waits here for the first one's transaction and then finds the key taken.
const INSERT_KEYED_ORDER: &str = "\
WITH claim AS (
    INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id, created_at, expires_at)
    VALUES ($1, $14, $15, nextval(pg_get_serial_sequence('orders', 'id')), $6, $16)
    ON CONFLICT (user_id, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, order_id = EXCLUDED.order_id,
            response = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
        WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
    RETURNING order_id
), o AS (
    INSERT INTO orders (id, customer_id, item_description, status, version, next_step_at,
                        created_at, updated_at, lines, currency, total, shipping_address, note)
    SELECT order_id, $1, $2, $3, $4, $5, $6, $6, $9, $10, $11, $12, $13 FROM claim
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, kind, from_status, to_status, actor, actor_id, created_at, version, next_step_at)
    SELECT id, 'created', NULL, status, $7, $8, created_at, version, next_step_at FROM o
)
SELECT * FROM o";

/// The answer kept with a freshly claimed key, for its repeats.
const KEEP_RESPONSE: &str =
    "UPDATE idempotency_keys SET response = $3::jsonb WHERE user_id = $1 AND key = $2";

/// What a taken key's first request asked for and got.
const READ_CLAIM: &str = "\
SELECT fingerprint, response::text AS response
FROM idempotency_keys WHERE user_id = $1 AND key = $2";

/// The claim a key holds while it lives.
const READ_LIVE_CLAIM: &str = "\
SELECT fingerprint, response::text AS response
FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND expires_at > $3";

/// A batch of expired keys; each process's housekeeping calls it until it deletes nothing.
const PURGE_EXPIRED_KEYS: &str = "\
DELETE FROM idempotency_keys WHERE (user_id, key) IN (
    SELECT user_id, key FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2
)";

/// One compare-and-set on the version, and its event, in one statement (one transaction).
const TRANSITION: &str = "\
WITH o AS (
    UPDATE orders
    SET status = $1, version = $2, next_step_at = $3, updated_at = $4
    WHERE id = $5 AND version = $6
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, kind, from_status, to_status, actor, actor_id, created_at, version, next_step_at)
    SELECT id, 'status_changed', $7, status, $8, $9, $4, version, next_step_at FROM o
)
SELECT * FROM o";

/// Claims a batch of due orders (rows another process holds are skipped, not waited for),
/// moves each by the domain's step table — bound as arrays, one row per step — and records
/// one event per order, all set-based in one statement.
const ADVANCE_DUE: &str = "\
WITH steps AS (
    SELECT * FROM unnest($3::order_status[], $4::order_status[], $5::timestamptz[])
        AS s(from_status, to_status, next_step_at)
), due AS (
    SELECT id, status, next_step_at AS was_due_at FROM orders
    WHERE next_step_at IS NOT NULL AND next_step_at <= $1
    ORDER BY next_step_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE orders o
    SET status = steps.to_status,
        version = o.version + $8,
        updated_at = $1,
        next_step_at = steps.next_step_at
    FROM due JOIN steps ON steps.from_status = due.status
    WHERE o.id = due.id
    RETURNING o.*, due.status AS from_status, due.was_due_at
), events AS (
    INSERT INTO order_events (order_id, kind, from_status, to_status, actor, actor_id, created_at, version, next_step_at)
    SELECT id, 'status_changed', from_status, status, $6, $7, $1, version, next_step_at FROM moved
)
SELECT id, customer_id, item_description, status, version, next_step_at, created_at, updated_at,
       lines, currency, total, shipping_address, note, was_due_at
FROM moved";

#[async_trait]
impl OrderRepository for PgOrderRepository {
    async fn insert(&self, order: NewOrder) -> Result<Order, DomainError> {
        self.creations.insert(order).await
    }

    async fn find_by_id(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        orders::table
            .find(id.get())
            .select(OrderRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .or_failure_on(&mut conn)
            .await?
            .map(OrderRow::into_order)
            .transpose()
    }

    async fn count_open(&self, customer: UserId, up_to: u32) -> Result<u32, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let open: Vec<i64> = orders::table
            .filter(orders::customer_id.eq(customer.get()))
            .filter(orders::next_step_at.is_not_null())
            .select(orders::id)
            .limit(i64::from(up_to))
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(u32::try_from(open.len()).unwrap_or(u32::MAX))
    }

    async fn find_claim(
        &self,
        customer: UserId,
        key: &IdempotencyKey,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<KeyedInsert>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let found = statement(READ_LIVE_CLAIM)
            .bind::<BigInt, _>(customer.get())
            .bind::<Text, _>(key.as_str())
            .bind::<Timestamptz, _>(now)
            .load::<ClaimRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        found
            .into_iter()
            .next()
            .map(ClaimRow::into_keyed)
            .transpose()
    }

    async fn list(
        &self,
        filter: &OrderFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Order>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = list_query(filter, before, limit)
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        into_orders(rows)
    }

    async fn transition(&self, change: StatusChange) -> Result<Option<Order>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let Some(stock_change) = change.stock.clone() else {
            return transition_statement(&change)
                .load::<OrderRow>(&mut conn)
                .await
                .map(written)
                .or_failure_on(&mut conn)
                .await?
                .map(OrderRow::into_order)
                .transpose();
        };
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(row) = transition_statement(&change)
                .load::<OrderRow>(conn)
                .await
                .map(written)?
            else {
                return Ok(None);
            };
            let order = row.into_order().map_err(refused)?;
            let mut stock = stock::lock_ids(conn, stock_change.product_ids()).await?;
            let moves = stock.move_all(&stock_change.deltas).map_err(refused)?;
            stock::record(conn, &change.ledger(moves)).await?;
            Ok(Some(order))
        })
        .await
        .or_failure_on(&mut conn)
        .await
    }

    async fn edit(&self, edit: PendingEdit) -> Result<Option<Order>, DomainError> {
        crate::order_edits::edit(&self.pool, edit).await
    }

    async fn history(&self, id: OrderId) -> Result<Vec<OrderEvent>, DomainError> {
        crate::history::order_history(&self.pool, id).await
    }

    async fn insert_keyed(
        &self,
        order: NewOrder,
        claim: KeyClaim,
    ) -> Result<KeyedInsert, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let user = order.customer_id.get();
        let outcome = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                // The products first: a concurrent request under the same key that took
                // them has committed by the time their locks are ours, so its claim is found
                // below instead of its units missing. A repeat is answered from its key
                // before anything is decided: the stock its first request took may be gone.
                let mut stock = stock::lock(conn, order.request.named_products()).await?;
                if let Some(taken) = statement(READ_LIVE_CLAIM)
                    .bind::<BigInt, _>(user)
                    .bind::<Text, _>(claim.key.as_str())
                    .bind::<Timestamptz, _>(order.created_at)
                    .load::<ClaimRow>(conn)
                    .await
                    .map(written)?
                {
                    return Ok(Claimed::Taken(taken));
                }
                let placed = order.request.decide(&mut stock).map_err(refused)?;
                let columns = DetailColumns::of(&placed.details).map_err(refused)?;
                let inserted =
                    bind_new_order!(statement(INSERT_KEYED_ORDER), order, placed, columns)
                        .bind::<Text, _>(claim.key.as_str())
                        .bind::<Bytea, _>(claim.fingerprint.0.as_slice())
                        .bind::<Timestamptz, _>(claim.expires_at)
                        .load::<OrderRow>(conn)
                        .await
                        .map(written)?;
                let Some(row) = inserted else {
                    // Claimed by a concurrent request since the read above; what was decided
                    // here is rolled back with the transaction's end, nothing having been
                    // written.
                    let taken = statement(READ_CLAIM)
                        .bind::<BigInt, _>(user)
                        .bind::<Text, _>(claim.key.as_str())
                        .load::<ClaimRow>(conn)
                        .await
                        .and_then(the_row)?;
                    return Ok(Claimed::Taken(taken));
                };
                let stored = row.into_order().map_err(refused)?;
                stock::record(conn, &placed.ledger(&order, stored.id)).await?;
                let response = serde_json::to_string(&stored)
                    .map_err(|e| refused(DomainError::internal(e)))?;
                statement(KEEP_RESPONSE)
                    .bind::<BigInt, _>(user)
                    .bind::<Text, _>(claim.key.as_str())
                    .bind::<Text, _>(response)
                    .execute(conn)
                    .await?;
                Ok(Claimed::Inserted(stored))
            })
            .await
            .or_failure_on(&mut conn)
            .await?;
        match outcome {
            Claimed::Inserted(order) => Ok(KeyedInsert::Inserted(order)),
            Claimed::Taken(taken) => taken.into_keyed(),
        }
    }

    async fn purge_expired_keys(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<u64, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let mut purged = 0;
        for purge in [PURGE_EXPIRED_KEYS, bulk_keys::PURGE_EXPIRED] {
            purged += statement(purge)
                .planned_each_time()
                .bind::<Timestamptz, _>(now)
                .bind::<BigInt, _>(limit)
                .execute(&mut conn)
                .await
                .or_failure_on(&mut conn)
                .await?;
        }
        Ok(u64::try_from(purged).unwrap_or_default())
    }

    async fn claim_bulk_key(
        &self,
        user: UserId,
        claim: &BulkClaim,
    ) -> Result<BulkKeyClaim, DomainError> {
        bulk_keys::claim(&self.pool, user, claim).await
    }

    async fn keep_bulk_answer(
        &self,
        user: UserId,
        claim: &BulkClaim,
        response: &str,
    ) -> Result<(), DomainError> {
        bulk_keys::keep(&self.pool, user, claim, response).await
    }

    async fn release_bulk_key(&self, user: UserId, claim: &BulkClaim) -> Result<(), DomainError> {
        bulk_keys::release(&self.pool, user, claim).await
    }

    async fn advance_due(
        &self,
        due: &DueSteps,
        limit: i64,
    ) -> Result<Vec<AdvancedOrder>, DomainError> {
        let from: Vec<DbStatus> = due.steps.iter().map(|s| DbStatus(s.from)).collect();
        let to: Vec<DbStatus> = due.steps.iter().map(|s| DbStatus(s.to)).collect();
        let next_step_at: Vec<Option<_>> = due.steps.iter().map(|s| s.next_step_at).collect();
        let mut conn = connection(&self.pool).await?;
        let rows = statement(ADVANCE_DUE)
            .planned_each_time()
            .bind::<Timestamptz, _>(due.now)
            .bind::<BigInt, _>(limit)
            .bind::<Array<sql_types::OrderStatus>, _>(from)
            .bind::<Array<sql_types::OrderStatus>, _>(to)
            .bind::<Array<Nullable<Timestamptz>>, _>(next_step_at)
            .bind::<sql_types::OrderActor, _>(DbActor(due.actor.kind()))
            .bind::<Nullable<BigInt>, _>(due.actor.user_id().map(UserId::get))
            .bind::<BigInt, _>(due.version_step)
            .load::<AdvancedRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        rows.into_iter().map(AdvancedRow::into_advanced).collect()
    }
}

#[derive(QueryableByName)]
struct AdvancedRow {
    #[diesel(embed)]
    order: OrderRow,
    #[diesel(sql_type = Timestamptz)]
    was_due_at: DateTime<Utc>,
}

impl AdvancedRow {
    fn into_advanced(self) -> Result<AdvancedOrder, DomainError> {
        Ok(AdvancedOrder {
            order: self.order.into_order()?,
            was_due_at: self.was_due_at,
        })
    }
}

enum Claimed {
    Inserted(Order),
    Taken(ClaimRow),
}

#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(sql_type = Bytea)]
    fingerprint: Vec<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    response: Option<String>,
}

impl ClaimRow {
    fn into_keyed(self) -> Result<KeyedInsert, DomainError> {
        let fingerprint = <[u8; 32]>::try_from(self.fingerprint.as_slice())
            .map_err(|_| DomainError::internal("an idempotency key has a malformed fingerprint"))?;
        // The first request's transaction writes its answer before it commits, and a
        // repeat only gets here after that commit; a missing answer means a foreign write.
        let response = self
            .response
            .ok_or_else(|| DomainError::internal("an idempotency key has no kept answer"))?;
        let kept: Order = serde_json::from_str(&response).map_err(DomainError::internal)?;
        Ok(KeyedInsert::Taken {
            fingerprint: RequestFingerprint(fingerprint),
            kept,
        })
    }
}

/// `TRANSITION` bound to the change.
fn transition_statement(change: &StatusChange) -> Statement<'static> {
    statement(TRANSITION)
        .bind::<sql_types::OrderStatus, _>(DbStatus(change.to))
        .bind::<BigInt, _>(change.new_version)
        .bind::<Nullable<Timestamptz>, _>(change.next_step_at)
        .bind::<Timestamptz, _>(change.at)
        .bind::<BigInt, _>(change.order_id.get())
        .bind::<BigInt, _>(change.expected_version)
        .bind::<sql_types::OrderStatus, _>(DbStatus(change.from))
        .bind::<sql_types::OrderActor, _>(DbActor(change.actor.kind()))
        .bind::<Nullable<BigInt>, _>(change.actor.user_id().map(UserId::get))
}
