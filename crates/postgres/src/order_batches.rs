//! Order creations that arrive together are stored together: one statement, one
//! transaction and one commit for each batch of concurrent creations.
//!
//! Under load, PostgreSQL's cost per creation is mostly per transaction — starting it,
//! writing and flushing its commit record, the round trip — not per row. Creations wait in
//! a queue while a few batches are in flight; each next batch takes every creation that
//! arrived meanwhile. A lone creation is stored at once, with the single-order statement,
//! so nothing waits when the service is idle. Every caller is answered only after its
//! batch committed, and a batch is all or nothing, as one creation was: durability and
//! what a client sees are unchanged.

use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::{mpsc, oneshot, Semaphore};
use trachios_domain::{DomainError, LockedStock, NewOrder, Order, PlacedContents, UserId};

use crate::error::{refused, written, QueryFailure};
use crate::orders::{bind_new_order, INSERT_ORDER};
use crate::pool::{connection, PgPool};
use crate::rows::{DbActor, DbStatus, DetailColumns, OrderRow};
use crate::schema::sql_types;
use crate::statement::{statement, Statement};
use crate::stock;

/// The most creations one statement stores.
const MAX_BATCH: usize = 64;
/// Batches stored at once, each on its own pooled connection. More concurrent commits share
/// WAL flushes; more than this would take connections that reads need.
const MAX_IN_FLIGHT: usize = 4;
/// Creations waiting for a batch; past this, a creation waits to be queued (the HTTP
/// workers' own limits bound how many requests get that far).
const QUEUE: usize = 1024;

/// Many orders and their creation events in one statement: ids are drawn first, so that
/// every row and event is matched to its input by its ordinal, whatever order the insert
/// returns rows in.
pub const INSERT_ORDERS: &str = "\
WITH input AS (
    SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id, i.*
    FROM unnest($1::bigint[], $2::text[], $3::order_status[], $4::bigint[], $5::timestamptz[],
                $6::timestamptz[], $7::order_actor[], $8::bigint[], $9::jsonb[], $10::text[],
                $11::bigint[], $12::jsonb[], $13::text[])
        WITH ORDINALITY AS i(customer_id, item_description, status, version, next_step_at,
                             created_at, actor, actor_id, lines, currency, total,
                             shipping_address, note, n)
), o AS (
    INSERT INTO orders (id, customer_id, item_description, status, version, next_step_at,
                        created_at, updated_at, lines, currency, total, shipping_address, note)
    SELECT id, customer_id, item_description, status, version, next_step_at, created_at,
           created_at, lines, currency, total, shipping_address, note
    FROM input
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, kind, from_status, to_status, actor, actor_id, created_at, version, next_step_at)
    SELECT id, 'created', NULL, status, actor, actor_id, created_at, version, next_step_at FROM input
)
SELECT o.*, input.n FROM o JOIN input USING (id) ORDER BY input.n";

type Reply = oneshot::Sender<Result<Order, DomainError>>;

/// Each order of a batch as stored, or why it alone was refused.
type Outcomes = Vec<Result<Order, DomainError>>;

/// The queue in front of the batches; clones share it. The batching task ends when the
/// last clone is dropped.
#[derive(Clone)]
pub(crate) struct OrderBatches {
    queue: mpsc::Sender<(NewOrder, Reply)>,
}

impl OrderBatches {
    /// Starts the batching task on the current Tokio runtime.
    pub(crate) fn start(pool: PgPool) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(form_batches(pool, waiting));
        Self { queue }
    }

    pub(crate) async fn insert(&self, order: NewOrder) -> Result<Order, DomainError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((order, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> DomainError {
    DomainError::unavailable("the order writer has stopped")
}

async fn form_batches(pool: PgPool, mut waiting: mpsc::Receiver<(NewOrder, Reply)>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let taking_stock = Arc::new(Semaphore::new(1));
    loop {
        // A slot first, then the creations: everything that queued while every slot was
        // busy goes into the next batch.
        let Ok(slot) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = waiting.recv().await else {
            return;
        };
        // Batches that take stock lock product rows until they commit, and two of them
        // almost always share a product: run at once they would wait for each other's
        // locks anyway. One at a time, each takes everything that queued meanwhile, so a
        // commit serves more orders.
        let stock_slot = if first.0.request.takes_stock() {
            match taking_stock.clone().acquire_owned().await {
                Ok(permit) => Some(permit),
                Err(_) => return,
            }
        } else {
            None
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            store(&pool, batch).await;
            drop((slot, stock_slot));
        });
    }
}

async fn store(pool: &PgPool, batch: Vec<(NewOrder, Reply)>) {
    metrics::histogram!("trachios_order_insert_batch_size").record(batch.len() as f64);
    let (orders, replies): (Vec<NewOrder>, Vec<Reply>) = batch.into_iter().unzip();
    match insert_all(pool, orders).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // A caller that went away no longer needs the answer; its order is stored.
                let _ = reply.send(outcome);
            }
        }
        Err(err) => {
            for reply in replies {
                let _ = reply.send(Err(shared(&err)));
            }
        }
    }
}

/// The batch's failure, for each of its callers.
fn shared(err: &DomainError) -> DomainError {
    let cause = err.chain();
    match err {
        DomainError::Unavailable(_) => DomainError::unavailable(cause),
        _ => DomainError::internal(cause),
    }
}

#[derive(QueryableByName)]
struct BatchRow {
    #[diesel(embed)]
    order: OrderRow,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The orders as stored, or why each was refused, in the order given. Orders with lines are
/// decided one after another against their products, locked for the batch's transaction:
/// an order refused for want of stock changes nothing and fails no other order.
async fn insert_all(pool: &PgPool, orders: Vec<NewOrder>) -> Result<Outcomes, DomainError> {
    let mut conn = connection(pool).await?;
    if orders.iter().all(|o| !o.request.takes_stock()) {
        let mut no_stock = LockedStock::new(Vec::new());
        let placed = orders
            .iter()
            .map(|o| o.request.decide(&mut no_stock))
            .collect::<Result<Vec<_>, DomainError>>()?;
        let stored = insert_rows(&mut conn, &orders.iter().zip(&placed).collect::<Vec<_>>())
            .await
            .or_failure_on(&mut conn)
            .await?;
        return Ok(stored.into_iter().map(Ok).collect());
    }
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let mut stock =
            stock::lock(conn, orders.iter().flat_map(|o| o.request.named_products())).await?;
        let decided: Vec<Result<PlacedContents, DomainError>> = orders
            .iter()
            .map(|o| o.request.decide(&mut stock))
            .collect();
        let placed: Vec<(&NewOrder, &PlacedContents)> = orders
            .iter()
            .zip(&decided)
            .filter_map(|(order, decision)| decision.as_ref().ok().map(|p| (order, p)))
            .collect();
        let mut stored = insert_rows(conn, &placed).await?.into_iter();
        let mut ledger = Vec::new();
        let mut outcomes = Vec::with_capacity(orders.len());
        for (order, decision) in orders.iter().zip(decided) {
            let contents = match decision {
                Ok(contents) => contents,
                Err(refusal) => {
                    outcomes.push(Err(refusal));
                    continue;
                }
            };
            let stored = stored
                .next()
                .ok_or_else(|| refused(DomainError::internal("a stored order went missing")))?;
            ledger.extend(contents.ledger(order, stored.id));
            outcomes.push(Ok(stored));
        }
        stock::record(conn, &ledger).await?;
        Ok(outcomes)
    })
    .await
    .or_failure_on(&mut conn)
    .await
}

/// The decided orders and their creation events: the one-row statement for a lone order,
/// so that nothing waits when the service is idle, the batch statement for several.
async fn insert_rows(
    conn: &mut AsyncPgConnection,
    orders: &[(&NewOrder, &PlacedContents)],
) -> diesel::QueryResult<Vec<Order>> {
    let rows = match orders {
        [] => return Ok(Vec::new()),
        [(order, placed)] => {
            let columns = DetailColumns::of(&placed.details).map_err(refused)?;
            let row = bind_new_order!(statement(INSERT_ORDER), order, placed, columns)
                .load::<OrderRow>(conn)
                .await
                .map(written)?
                .ok_or_else(|| {
                    refused(DomainError::internal("inserting an order returned no row"))
                })?;
            return row.into_order().map(|o| vec![o]).map_err(refused);
        }
        several => {
            let columns = several
                .iter()
                .map(|(_, placed)| DetailColumns::of(&placed.details))
                .collect::<Result<Vec<_>, DomainError>>()
                .map_err(refused)?;
            bind_batch(statement(INSERT_ORDERS), several, columns)
                .load::<BatchRow>(conn)
                .await?
        }
    };
    if rows.len() != orders.len()
        || rows
            .iter()
            .enumerate()
            .any(|(i, row)| usize::try_from(row.n).ok() != Some(i + 1))
    {
        return Err(refused(DomainError::internal(format!(
            "storing {} orders returned {} rows out of order",
            orders.len(),
            rows.len()
        ))));
    }
    rows.into_iter()
        .map(|row| row.order.into_order())
        .collect::<Result<_, _>>()
        .map_err(refused)
}

/// Binds the orders as the arrays `$1`–`$13` of `INSERT_ORDERS`.
fn bind_batch<'a>(
    query: Statement<'a>,
    orders: &[(&NewOrder, &'a PlacedContents)],
    columns: Vec<DetailColumns>,
) -> Statement<'a> {
    let each = |f: fn(&NewOrder) -> i64| orders.iter().map(|(o, _)| f(o)).collect::<Vec<_>>();
    let (mut lines, mut currencies, mut totals, mut addresses, mut notes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in columns {
        lines.push(c.lines);
        currencies.push(c.currency);
        totals.push(c.total);
        addresses.push(c.shipping_address);
        notes.push(c.note);
    }
    query
        .bind::<Array<BigInt>, _>(each(|o| o.customer_id.get()))
        .bind::<Array<Text>, _>(
            orders
                .iter()
                .map(|(_, p)| p.item_description.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<sql_types::OrderStatus>, _>(
            orders
                .iter()
                .map(|(o, _)| DbStatus(o.status))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(each(|o| o.version))
        .bind::<Array<Nullable<Timestamptz>>, _>(
            orders
                .iter()
                .map(|(o, _)| o.next_step_at)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamptz>, _>(orders.iter().map(|(o, _)| o.created_at).collect::<Vec<_>>())
        .bind::<Array<sql_types::OrderActor>, _>(
            orders
                .iter()
                .map(|(o, _)| DbActor(o.actor.kind()))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<BigInt>>, _>(
            orders
                .iter()
                .map(|(o, _)| o.actor.user_id().map(UserId::get))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Jsonb>, _>(lines)
        .bind::<Array<Nullable<Text>>, _>(currencies)
        .bind::<Array<Nullable<BigInt>>, _>(totals)
        .bind::<Array<Nullable<Jsonb>>, _>(addresses)
        .bind::<Array<Nullable<Text>>, _>(notes)
}
