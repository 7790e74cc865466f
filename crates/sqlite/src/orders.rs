use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::SqliteConnection;
use trachios_domain::ports::OrderRepository;
use trachios_domain::{
    AdvancedOrder, AutomaticStep, BulkClaim, BulkKeyClaim, DomainError, DueSteps, EventKind,
    IdempotencyKey, KeyClaim, KeyedInsert, NewOrder, Order, OrderEvent, OrderFilter, OrderId,
    OrderSearch, PendingEdit, RequestFingerprint, StatusChange, UserId,
};

use crate::bulk_keys;
use crate::error::refused;
use crate::fts::phrase;
use crate::rows::{instant, into_orders, micros, DetailColumns, EventRow, NewEventRow, OrderRow};
use crate::schema::{idempotency_keys, order_events, orders, users};
use crate::stock;
use crate::store::SqliteStore;

/// Orders and their event history in the embedded store. Like PostgreSQL's, every write
/// stores what the domain decided, and each change writes its event in its transaction.
#[derive(Clone)]
pub struct SqliteOrderRepository {
    store: SqliteStore,
}

impl SqliteOrderRepository {
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

/// One keyset page: the filter's conditions, ids below `before`, newest first.
fn list_query(
    filter: &OrderFilter,
    before: Option<i64>,
    limit: usize,
) -> orders::BoxedQuery<'static, Sqlite, SqlTypeOf<AsSelect<OrderRow, Sqlite>>> {
    let mut query = orders::table
        .select(OrderRow::as_select())
        .order(orders::id.desc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(orders::id.lt(before));
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(orders::customer_id.eq(customer.get()));
    }
    if !filter.statuses.is_empty() {
        let statuses: Vec<&'static str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        query = query.filter(orders::status.eq_any(statuses));
    }
    if let Some(after) = filter.created_after {
        query = query.filter(orders::created_at.gt(micros(after)));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(orders::created_at.lt(micros(before)));
    }
    if let Some(search) = &filter.search {
        query = query.filter(found_by(search));
    }
    query
}

type OrderCondition = Box<dyn BoxableExpression<orders::table, Sqlite, SqlType = Bool>>;

/// The orders a search finds: its id, its customer's e-mail, or its text in the trigram table.
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
            sql::<Bool>("orders.id IN (SELECT rowid FROM orders_search WHERE orders_search MATCH ")
                .bind::<Text, _>(phrase(text))
                .sql(")"),
        ));
    }
    any.into_iter()
        .reduce(|all, one| Box::new(all.or(one)))
        .unwrap_or_else(|| Box::new(sql::<Bool>("FALSE")))
}

/// Decides the order's contents against its products, then stores it, its creation event
/// and what it took from stock; part of a caller's transaction, which a refusal (too few
/// units) rolls back.
fn insert_order(conn: &mut SqliteConnection, order: &NewOrder) -> QueryResult<Order> {
    let mut stock = stock::hold(conn, order.request.named_products())?;
    let placed = order.request.decide(&mut stock).map_err(refused)?;
    let columns = DetailColumns::of(&placed.details).map_err(refused)?;
    let created_at = micros(order.created_at);
    let row = diesel::insert_into(orders::table)
        .values((
            orders::customer_id.eq(order.customer_id.get()),
            orders::item_description.eq(placed.item_description.as_str()),
            orders::status.eq(order.status.as_str()),
            orders::version.eq(order.version),
            orders::next_step_at.eq(order.next_step_at.map(micros)),
            orders::created_at.eq(created_at),
            orders::updated_at.eq(created_at),
            orders::lines.eq(&columns.lines),
            orders::currency.eq(columns.currency),
            orders::total.eq(columns.total),
            orders::shipping_address.eq(&columns.shipping_address),
            orders::note.eq(&columns.note),
        ))
        .returning(OrderRow::as_returning())
        .get_result(conn)?;
    let stored = record(
        conn,
        &row,
        EventKind::Created,
        None,
        order.actor,
        created_at,
    )?;
    stock::record(conn, &placed.ledger(order, stored.id))?;
    Ok(stored)
}

/// Writes the event of the change that left `row` as it is, and returns the order.
fn record(
    conn: &mut SqliteConnection,
    row: &OrderRow,
    kind: EventKind,
    from: Option<trachios_domain::OrderStatus>,
    actor: trachios_domain::Actor,
    at: i64,
) -> QueryResult<Order> {
    let event =
        NewEventRow::of(row, kind, from, actor.kind(), actor.user_id(), at).map_err(refused)?;
    diesel::insert_into(order_events::table)
        .values(event)
        .execute(conn)?;
    row.clone().into_order().map_err(refused)
}

/// Deletes a bounded batch of expired keys (rowid: the table has a composite key).
const PURGE_EXPIRED_KEYS: &str = "\
DELETE FROM idempotency_keys WHERE rowid IN (
    SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?
)";

#[async_trait]
impl OrderRepository for SqliteOrderRepository {
    async fn insert(&self, order: NewOrder) -> Result<Order, DomainError> {
        self.store
            .write(
                move |conn| insert_order(conn, &order),
                |order, visit| visit(order, EventKind::Created),
            )
            .await
    }

    async fn find_by_id(&self, id: OrderId) -> Result<Option<Order>, DomainError> {
        self.store
            .read(move |conn| {
                orders::table
                    .find(id.get())
                    .select(OrderRow::as_select())
                    .first(conn)
                    .optional()
            })
            .await?
            .map(OrderRow::into_order)
            .transpose()
    }

    async fn list(
        &self,
        filter: &OrderFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Order>, DomainError> {
        let query = list_query(filter, before, limit);
        into_orders(self.store.read(move |conn| query.load(conn)).await?)
    }

    async fn transition(&self, change: StatusChange) -> Result<Option<Order>, DomainError> {
        self.store
            .write(
                move |conn| {
                    let moved = diesel::update(
                        orders::table
                            .find(change.order_id.get())
                            .filter(orders::version.eq(change.expected_version)),
                    )
                    .set((
                        orders::status.eq(change.to.as_str()),
                        orders::version.eq(change.new_version),
                        orders::next_step_at.eq(change.next_step_at.map(micros)),
                        orders::updated_at.eq(micros(change.at)),
                    ))
                    .returning(OrderRow::as_returning())
                    .get_result(conn)
                    .optional()?;
                    let Some(row) = moved else {
                        return Ok(None);
                    };
                    let order = record(
                        conn,
                        &row,
                        EventKind::StatusChanged,
                        Some(change.from),
                        change.actor,
                        micros(change.at),
                    )?;
                    if let Some(stock_change) = &change.stock {
                        let mut stock = stock::hold_ids(conn, stock_change.product_ids())?;
                        let moves = stock.move_all(&stock_change.deltas).map_err(refused)?;
                        stock::record(conn, &change.ledger(moves))?;
                    }
                    Ok(Some(order))
                },
                |moved, visit| {
                    if let Some(order) = moved {
                        visit(order, EventKind::StatusChanged)
                    }
                },
            )
            .await
    }

    async fn edit(&self, edit: PendingEdit) -> Result<Option<Order>, DomainError> {
        self.store
            .write(
                move |conn| crate::order_edits::edit(conn, &edit),
                |edited, visit| {
                    if let Some(order) = edited {
                        visit(order, EventKind::Edited)
                    }
                },
            )
            .await
    }

    async fn history(&self, id: OrderId) -> Result<Vec<OrderEvent>, DomainError> {
        let rows: Vec<EventRow> = self
            .store
            .read(move |conn| {
                order_events::table
                    .filter(order_events::order_id.eq(id.get()))
                    .order(order_events::id.asc())
                    .select(EventRow::as_select())
                    .load(conn)
            })
            .await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    async fn count_open(&self, customer: UserId, up_to: u32) -> Result<u32, DomainError> {
        let open: Vec<i64> = self
            .store
            .read(move |conn| {
                orders::table
                    .filter(orders::customer_id.eq(customer.get()))
                    .filter(orders::next_step_at.is_not_null())
                    .select(orders::id)
                    .limit(i64::from(up_to))
                    .load(conn)
            })
            .await?;
        Ok(u32::try_from(open.len()).unwrap_or(u32::MAX))
    }

    async fn find_claim(
        &self,
        customer: UserId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyedInsert>, DomainError> {
        let key = key.as_str().to_owned();
        let taken: Option<(Vec<u8>, String)> = self
            .store
            .read(move |conn| {
                idempotency_keys::table
                    .find((customer.get(), key))
                    .filter(idempotency_keys::expires_at.gt(micros(now)))
                    .select((idempotency_keys::fingerprint, idempotency_keys::response))
                    .first(conn)
                    .optional()
            })
            .await?;
        taken
            .map(|(fingerprint, response)| kept(&fingerprint, &response))
            .transpose()
    }

    async fn insert_keyed(
        &self,
        order: NewOrder,
        claim: KeyClaim,
    ) -> Result<KeyedInsert, DomainError> {
        self.store
            .write(
                move |conn| {
                    let user = order.customer_id.get();
                    let created_at = micros(order.created_at);
                    let taken: Option<(Vec<u8>, String)> = idempotency_keys::table
                        .find((user, claim.key.as_str()))
                        .filter(idempotency_keys::expires_at.gt(created_at))
                        .select((idempotency_keys::fingerprint, idempotency_keys::response))
                        .first(conn)
                        .optional()?;
                    if let Some((fingerprint, response)) = taken {
                        return kept(&fingerprint, &response).map_err(refused);
                    }
                    let inserted = insert_order(conn, &order)?;
                    let response = serde_json::to_string(&inserted)
                        .map_err(|e| refused(DomainError::internal(e)))?;
                    // The key is free or expired: an expired claim is replaced whole.
                    diesel::replace_into(idempotency_keys::table)
                        .values((
                            idempotency_keys::user_id.eq(user),
                            idempotency_keys::key.eq(claim.key.as_str()),
                            idempotency_keys::fingerprint.eq(claim.fingerprint.0.as_slice()),
                            idempotency_keys::order_id.eq(inserted.id.get()),
                            idempotency_keys::response.eq(response),
                            idempotency_keys::created_at.eq(created_at),
                            idempotency_keys::expires_at.eq(micros(claim.expires_at)),
                        ))
                        .execute(conn)?;
                    Ok(KeyedInsert::Inserted(inserted))
                },
                |outcome, visit| {
                    if let KeyedInsert::Inserted(order) = outcome {
                        visit(order, EventKind::Created);
                    }
                },
            )
            .await
    }

    async fn purge_expired_keys(&self, now: DateTime<Utc>, limit: i64) -> Result<u64, DomainError> {
        let purged = self
            .store
            .write(
                move |conn| {
                    let mut purged = 0;
                    for purge in [PURGE_EXPIRED_KEYS, bulk_keys::PURGE_EXPIRED] {
                        purged += diesel::sql_query(purge)
                            .bind::<BigInt, _>(micros(now))
                            .bind::<BigInt, _>(limit)
                            .execute(conn)?;
                    }
                    Ok(purged)
                },
                |_, _| {},
            )
            .await?;
        Ok(u64::try_from(purged).unwrap_or_default())
    }

    async fn claim_bulk_key(
        &self,
        user: UserId,
        claim: &BulkClaim,
    ) -> Result<BulkKeyClaim, DomainError> {
        bulk_keys::claim(&self.store, user, claim).await
    }

    async fn keep_bulk_answer(
        &self,
        user: UserId,
        claim: &BulkClaim,
        response: &str,
    ) -> Result<(), DomainError> {
        bulk_keys::keep(&self.store, user, claim, response).await
    }

    async fn release_bulk_key(&self, user: UserId, claim: &BulkClaim) -> Result<(), DomainError> {
        bulk_keys::release(&self.store, user, claim).await
    }

    async fn advance_due(
        &self,
        due: &DueSteps,
        limit: i64,
    ) -> Result<Vec<AdvancedOrder>, DomainError> {
        let due = due.clone();
        self.store
            .write(
                move |conn| advance(conn, &due, limit),
                |advanced, visit| {
                    advanced
                        .iter()
                        .for_each(|a| visit(&a.order, EventKind::StatusChanged))
                },
            )
            .await
    }
}

/// Rows one statement binds at most: 8 values each stays far below SQLite's limit of 32,766
/// bound values, whatever `LIFECYCLE_BATCH_SIZE` is.
const ROWS_PER_STATEMENT: usize = 1000;

/// Moves the earliest-due orders one step each, by the step table, with one event each:
/// one `UPDATE … RETURNING` per step of the table and one insert of the events, per thousand
/// orders. There is one writer, so no other worker can claim the same orders.
fn advance(
    conn: &mut SqliteConnection,
    due: &DueSteps,
    limit: i64,
) -> QueryResult<Vec<AdvancedOrder>> {
    let now = micros(due.now);
    let candidates: Vec<(i64, String, Option<i64>)> = orders::table
        .filter(orders::next_step_at.le(now))
        .order(orders::next_step_at.asc())
        .limit(limit)
        .select((orders::id, orders::status, orders::next_step_at))
        .load(conn)?;
    let was_due: HashMap<i64, Option<i64>> =
        candidates.iter().map(|(id, _, at)| (*id, *at)).collect();
    let mut moved: Vec<(OrderRow, &AutomaticStep)> = Vec::with_capacity(candidates.len());
    for step in &due.steps {
        let ids: Vec<i64> = candidates
            .iter()
            .filter(|(_, status, _)| status == step.from.as_str())
            .map(|(id, _, _)| *id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        for ids in ids.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<OrderRow> = diesel::update(orders::table.filter(orders::id.eq_any(ids)))
                .set((
                    orders::status.eq(step.to.as_str()),
                    orders::version.eq(orders::version + due.version_step),
                    orders::updated_at.eq(now),
                    orders::next_step_at.eq(step.next_step_at.map(micros)),
                ))
                .returning(OrderRow::as_returning())
                .load(conn)?;
            moved.extend(rows.into_iter().map(|row| (row, step)));
        }
    }
    let events = moved
        .iter()
        .map(|(row, step)| {
            NewEventRow::of(
                row,
                EventKind::StatusChanged,
                Some(step.from),
                due.actor.kind(),
                due.actor.user_id(),
                now,
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(refused)?;
    for events in events.chunks(ROWS_PER_STATEMENT) {
        diesel::insert_into(order_events::table)
            .values(events)
            .execute(conn)?;
    }
    moved
        .into_iter()
        .map(|(row, _)| {
            let was_due_at = was_due.get(&row.id).copied().flatten();
            let order = row.into_order().map_err(refused)?;
            let was_due_at = was_due_at
                .map(instant)
                .transpose()
                .map_err(refused)?
                .unwrap_or(due.now);
            Ok(AdvancedOrder { order, was_due_at })
        })
        .collect()
}

/// What a taken key's first request asked for and got.
fn kept(fingerprint: &[u8], response: &str) -> Result<KeyedInsert, DomainError> {
    let fingerprint = <[u8; 32]>::try_from(fingerprint)
        .map_err(|_| DomainError::internal("an idempotency key has a malformed fingerprint"))?;
    let kept: Order = serde_json::from_str(response).map_err(DomainError::internal)?;
    Ok(KeyedInsert::Taken {
        fingerprint: RequestFingerprint(fingerprint),
        kept,
    })
}
