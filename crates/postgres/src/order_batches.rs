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
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use tokio::sync::{mpsc, oneshot, Semaphore};
use trachios_domain::{DomainError, NewOrder, Order, UserId};

use crate::error::{written, QueryFailure};
use crate::orders::{bind_new_order, INSERT_ORDER};
use crate::pool::{connection, PgPool};
use crate::rows::{DbActor, DbStatus, OrderRow};
use crate::schema::sql_types;
use crate::statement::statement;

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
                $6::timestamptz[], $7::order_actor[], $8::bigint[])
        WITH ORDINALITY AS i(customer_id, item_description, status, version, next_step_at,
                             created_at, actor, actor_id, n)
), o AS (
    INSERT INTO orders (id, customer_id, item_description, status, version, next_step_at, created_at, updated_at)
    SELECT id, customer_id, item_description, status, version, next_step_at, created_at, created_at
    FROM input
    RETURNING *
), e AS (
    INSERT INTO order_events (order_id, from_status, to_status, actor, actor_id, created_at, version, next_step_at)
    SELECT id, NULL, status, actor, actor_id, created_at, version, next_step_at FROM input
)
SELECT o.*, input.n FROM o JOIN input USING (id) ORDER BY input.n";

type Reply = oneshot::Sender<Result<Order, DomainError>>;

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
    loop {
        // A slot first, then the creations: everything that queued while every slot was
        // busy goes into the next batch.
        let Ok(slot) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = waiting.recv().await else {
            return;
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
            drop(slot);
        });
    }
}

async fn store(pool: &PgPool, batch: Vec<(NewOrder, Reply)>) {
    metrics::histogram!("trachios_order_insert_batch_size").record(batch.len() as f64);
    let (orders, replies): (Vec<NewOrder>, Vec<Reply>) = batch.into_iter().unzip();
    match insert_all(pool, orders).await {
        Ok(stored) => {
            for (reply, order) in replies.into_iter().zip(stored) {
                // A caller that went away no longer needs the answer; its order is stored.
                let _ = reply.send(Ok(order));
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

/// The orders as stored, in the order given.
async fn insert_all(pool: &PgPool, orders: Vec<NewOrder>) -> Result<Vec<Order>, DomainError> {
    let mut conn = connection(pool).await?;
    if let [order] = orders.as_slice() {
        let row = bind_new_order!(statement(INSERT_ORDER), order)
            .load::<OrderRow>(&mut conn)
            .await
            .map(written)
            .or_failure_on(&mut conn)
            .await?
            .ok_or_else(|| DomainError::internal("inserting an order returned no row"))?;
        return Ok(vec![row.into_order()?]);
    }
    let rows = statement(INSERT_ORDERS)
        .bind::<Array<BigInt>, _>(
            orders
                .iter()
                .map(|o| o.customer_id.get())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(
            orders
                .iter()
                .map(|o| o.item_description.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<sql_types::OrderStatus>, _>(
            orders
                .iter()
                .map(|o| DbStatus(o.status))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(orders.iter().map(|o| o.version).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(
            orders.iter().map(|o| o.next_step_at).collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamptz>, _>(orders.iter().map(|o| o.created_at).collect::<Vec<_>>())
        .bind::<Array<sql_types::OrderActor>, _>(
            orders
                .iter()
                .map(|o| DbActor(o.actor.kind()))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<BigInt>>, _>(
            orders
                .iter()
                .map(|o| o.actor.user_id().map(UserId::get))
                .collect::<Vec<_>>(),
        )
        .load::<BatchRow>(&mut conn)
        .await
        .or_failure_on(&mut conn)
        .await?;
    if rows.len() != orders.len()
        || rows
            .iter()
            .enumerate()
            .any(|(i, row)| usize::try_from(row.n).ok() != Some(i + 1))
    {
        return Err(DomainError::internal(format!(
            "storing {} orders returned {} rows out of order",
            orders.len(),
            rows.len()
        )));
    }
    rows.into_iter().map(|row| row.order.into_order()).collect()
}
