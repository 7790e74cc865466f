//! Webhook endpoints, their deliveries and the attempt log in PostgreSQL. The deliveries
//! themselves are written by the `order_events_webhooks` trigger (see its migration), in
//! the statement that records each order event.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};
use trachios_domain::ports::WebhookRepository;
use trachios_domain::SealedSecret;
use trachios_domain::{
    AttemptRecord, DeliveryLogEntry, DomainError, NewWebhook, PendingDelivery, StoredDelivery,
    Subscription, Webhook, WebhookId,
};

use crate::children::{of_existing_parent, Found};
use crate::error::{the_row, written, QueryFailure};
use crate::pool::{connection, PgPool};
use crate::rows::{next_edit_after_event, order_contents_at_event, DbActor, DbStatus, OrderRow};
use crate::schema::sql_types;
use crate::statement::statement;

/// Webhooks in PostgreSQL; deliveries are shared by every process through `SKIP LOCKED`.
#[derive(Clone)]
pub struct PgWebhookRepository {
    pool: PgPool,
}

impl PgWebhookRepository {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The count check and the insert in one statement; concurrent creations may pass the
/// check together, so the bound can be exceeded by the number of admins racing.
const INSERT: &str = "\
INSERT INTO webhooks (url, secret, order_created, status_changed, order_updated, created_at)
SELECT $1, $2, $3, $4, $7, $5 WHERE (SELECT count(*) FROM webhooks) < $6
RETURNING id, url, order_created, status_changed, order_updated, created_at";

const LIST: &str = "\
SELECT id, url, order_created, status_changed, order_updated, created_at FROM webhooks ORDER BY id";

const SEALED_SECRETS: &str = "SELECT id, secret FROM webhooks ORDER BY id";

const REPLACE_SECRET: &str = "UPDATE webhooks SET secret = $3 WHERE id = $1 AND secret = $2";

/// The endpoint's deliveries, locked before the endpoint itself: the delivery recorder
/// locks a delivery, then (through its attempt's foreign key) the endpoint; a deletion
/// that took the endpoint first and then waited for a delivery the recorder held, while the
/// recorder waited for the endpoint, was a deadlock.
const LOCK_DELIVERIES: &str = "\
SELECT id FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id FOR UPDATE";

/// The endpoint, its deliveries, and the events no other endpoint still needs.
const DELETE: &str = "\
WITH endpoint AS (
    DELETE FROM webhooks WHERE id = $1 RETURNING id
), deliveries AS (
    DELETE FROM webhook_deliveries WHERE webhook_id = $1 RETURNING id, event_id
), events AS (
    DELETE FROM webhook_events we
    WHERE we.event_id IN (SELECT event_id FROM deliveries)
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries d
          WHERE d.event_id = we.event_id AND d.id NOT IN (SELECT id FROM deliveries))
)
SELECT EXISTS (SELECT 1 FROM endpoint) AS found";

const EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1) AS found";

const ATTEMPTS: &str = "\
SELECT id, event_uuid::text AS event_uuid, event_type, attempt, status_code, error, attempted_at
FROM webhook_attempts
WHERE webhook_id = $1 AND ($2::bigint IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3";

/// Due deliveries, each the oldest pending event of its order for its endpoint, claimed for
/// one attempt: the attempt count goes up and the lease hides it from every other worker
/// until the attempt is recorded or the lease runs out. Returned with the order as its
/// event left it.
const CLAIM_DUE: &str = concat!(
    "\
WITH due AS (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.state = 'pending' AND d.next_attempt_at <= $1
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries p
          WHERE p.webhook_id = d.webhook_id AND p.order_id = d.order_id
            AND p.state = 'pending' AND p.id < d.id)
    ORDER BY d.next_attempt_at, d.id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $2
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.webhook_id, d.event_id, d.attempts
)
SELECT c.id AS delivery_id, c.webhook_id, c.attempts, w.url, w.secret,
       we.uuid::text AS event_uuid, e.kind AS event_kind, e.from_status, e.actor AS event_actor, e.actor_id,
       o.id, o.customer_id, e.to_status AS status, e.version,
       e.next_step_at, o.created_at, e.created_at AS updated_at,
       ",
    order_contents_at_event!(),
    "
FROM claimed c
JOIN webhooks w ON w.id = c.webhook_id
JOIN webhook_events we ON we.event_id = c.event_id
JOIN order_events e ON e.id = c.event_id
JOIN orders o ON o.id = e.order_id
",
    next_edit_after_event!(),
    "
ORDER BY c.id"
);

/// Each attempt is logged while its endpoint exists; its outcome is applied only if no
/// later attempt was claimed since (its lease ran out and another worker took it).
const RECORD: &str = "\
WITH outcome AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::text[],
                         $6::timestamptz[], $7::text[], $8::timestamptz[], $9::text[])
        AS o(delivery_id, webhook_id, attempt, status_code, error, attempted_at, state, retry_at,
             event_type)
), applied AS (
    UPDATE webhook_deliveries d
    SET state = o.state::webhook_delivery_state,
        next_attempt_at = COALESCE(o.retry_at, d.next_attempt_at),
        finished_at = CASE WHEN o.state = 'pending' THEN NULL ELSE o.attempted_at END
    FROM outcome o
    WHERE d.id = o.delivery_id AND d.attempts = o.attempt AND d.state = 'pending'
)
INSERT INTO webhook_attempts
    (webhook_id, event_uuid, event_type, attempt, status_code, error, attempted_at)
SELECT o.webhook_id, we.uuid, o.event_type, o.attempt, o.status_code, o.error, o.attempted_at
FROM outcome o
JOIN webhook_deliveries d ON d.id = o.delivery_id
JOIN webhook_events we ON we.event_id = d.event_id
ORDER BY o.attempted_at, o.delivery_id";

/// A bounded batch of finished deliveries, the events they leave unneeded, and old log
/// entries.
const PURGE: &str = "\
WITH gone AS (
    DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries
        WHERE state <> 'pending' AND finished_at < $1
        ORDER BY finished_at LIMIT $2)
    RETURNING id, event_id
), events AS (
    DELETE FROM webhook_events we
    WHERE we.event_id IN (SELECT event_id FROM gone)
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries d
          WHERE d.event_id = we.event_id AND d.id NOT IN (SELECT id FROM gone))
    RETURNING 1
), attempts AS (
    DELETE FROM webhook_attempts WHERE id IN (
        SELECT id FROM webhook_attempts WHERE attempted_at < $1
        ORDER BY attempted_at LIMIT $2)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM events)
     + (SELECT count(*) FROM attempts) AS purged";

#[derive(QueryableByName)]
struct WebhookRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Bool)]
    order_created: bool,
    #[diesel(sql_type = Bool)]
    status_changed: bool,
    #[diesel(sql_type = Bool)]
    order_updated: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl WebhookRow {
    fn into_webhook(self) -> Result<Webhook, DomainError> {
        Webhook::from_stored(
            self.id,
            &self.url,
            Subscription {
                order_created: self.order_created,
                status_changed: self.status_changed,
                order_updated: self.order_updated,
            },
            self.created_at,
        )
    }
}

#[derive(QueryableByName)]
struct Purged {
    #[diesel(sql_type = BigInt)]
    purged: i64,
}

#[derive(QueryableByName)]
struct AttemptRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    event_uuid: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Integer)]
    attempt: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    status_code: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    attempted_at: DateTime<Utc>,
}

impl AttemptRow {
    fn into_entry(self) -> Result<DeliveryLogEntry, DomainError> {
        DeliveryLogEntry::from_stored(
            self.id,
            self.event_uuid,
            &self.event_type,
            self.attempt,
            self.status_code,
            self.error,
            self.attempted_at,
        )
    }
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = BigInt)]
    delivery_id: i64,
    #[diesel(sql_type = BigInt)]
    webhook_id: i64,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = Text)]
    event_uuid: String,
    #[diesel(sql_type = Text)]
    event_kind: String,
    #[diesel(sql_type = Nullable<sql_types::OrderStatus>)]
    from_status: Option<DbStatus>,
    #[diesel(sql_type = sql_types::OrderActor)]
    event_actor: DbActor,
    #[diesel(sql_type = Nullable<BigInt>)]
    actor_id: Option<i64>,
    #[diesel(embed)]
    order: OrderRow,
}

impl ClaimedRow {
    fn into_pending(self) -> Result<PendingDelivery, DomainError> {
        StoredDelivery {
            delivery_id: self.delivery_id,
            webhook_id: self.webhook_id,
            url: self.url,
            secret: SealedSecret::new(self.secret),
            attempt: self.attempts,
            event_id: self.event_uuid,
            kind: self.event_kind,
            from: self.from_status.map(|s| s.0),
            actor: self.event_actor.0,
            actor_id: self.actor_id,
            order: self.order.into_order()?,
        }
        .into_pending()
    }
}

#[async_trait]
impl WebhookRepository for PgWebhookRepository {
    async fn insert(
        &self,
        webhook: NewWebhook,
        max: usize,
    ) -> Result<Option<Webhook>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let row = statement(INSERT)
            .bind::<Text, _>(webhook.url.as_str())
            .bind::<Text, _>(webhook.secret.as_stored())
            .bind::<Bool, _>(webhook.subscription.order_created)
            .bind::<Bool, _>(webhook.subscription.status_changed)
            .bind::<Timestamptz, _>(webhook.created_at)
            .bind::<BigInt, _>(i64::try_from(max).unwrap_or(i64::MAX))
            .bind::<Bool, _>(webhook.subscription.order_updated)
            .load::<WebhookRow>(&mut conn)
            .await
            .map(written)
            .or_failure_on(&mut conn)
            .await?;
        row.map(WebhookRow::into_webhook).transpose()
    }

    async fn list(&self) -> Result<Vec<Webhook>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = statement(LIST)
            .load::<WebhookRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        rows.into_iter().map(WebhookRow::into_webhook).collect()
    }

    async fn delete(&self, id: WebhookId) -> Result<bool, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let deleted = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                statement(LOCK_DELIVERIES)
                    .bind::<BigInt, _>(id.get())
                    .execute(conn)
                    .await?;
                statement(DELETE)
                    .bind::<BigInt, _>(id.get())
                    .load::<Found>(conn)
                    .await
                    .and_then(the_row)
            })
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(deleted.found)
    }

    async fn attempts(
        &self,
        id: WebhookId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Option<Vec<DeliveryLogEntry>>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = statement(ATTEMPTS)
            .bind::<BigInt, _>(id.get())
            .bind::<Nullable<BigInt>, _>(before)
            .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
            .load::<AttemptRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        let Some(rows) = of_existing_parent(
            &mut conn,
            rows,
            statement(EXISTS).bind::<BigInt, _>(id.get()),
        )
        .await?
        else {
            return Ok(None);
        };
        rows.into_iter()
            .map(AttemptRow::into_entry)
            .collect::<Result<_, _>>()
            .map(Some)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingDelivery>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = statement(CLAIM_DUE)
            .planned_each_time()
            .bind::<Timestamptz, _>(now)
            .bind::<Timestamptz, _>(lease_until)
            .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
            .load::<ClaimedRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        rows.into_iter().map(ClaimedRow::into_pending).collect()
    }

    async fn record(&self, attempts: Vec<AttemptRecord>) -> Result<(), DomainError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let mut delivery_ids = Vec::with_capacity(attempts.len());
        let mut webhook_ids = Vec::with_capacity(attempts.len());
        let mut numbers = Vec::with_capacity(attempts.len());
        let mut codes = Vec::with_capacity(attempts.len());
        let mut errors = Vec::with_capacity(attempts.len());
        let mut times = Vec::with_capacity(attempts.len());
        let mut states = Vec::with_capacity(attempts.len());
        let mut retries = Vec::with_capacity(attempts.len());
        let mut types = Vec::with_capacity(attempts.len());
        for a in attempts {
            let (state, retry_at) = a.next.stored();
            delivery_ids.push(a.delivery_id);
            webhook_ids.push(a.webhook_id.get());
            numbers.push(i32::try_from(a.attempt).unwrap_or(i32::MAX));
            codes.push(a.status_code.map(i32::from));
            errors.push(a.error);
            times.push(a.at);
            states.push(state);
            retries.push(retry_at);
            types.push(a.event_type.as_str());
        }
        let mut conn = connection(&self.pool).await?;
        statement(RECORD)
            .bind::<Array<BigInt>, _>(delivery_ids)
            .bind::<Array<BigInt>, _>(webhook_ids)
            .bind::<Array<Integer>, _>(numbers)
            .bind::<Array<Nullable<Integer>>, _>(codes)
            .bind::<Array<Nullable<Text>>, _>(errors)
            .bind::<Array<Timestamptz>, _>(times)
            .bind::<Array<Text>, _>(states)
            .bind::<Array<Nullable<Timestamptz>>, _>(retries)
            .bind::<Array<Text>, _>(types)
            .execute(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(())
    }

    async fn purge_finished(&self, before: DateTime<Utc>, limit: i64) -> Result<u64, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let purged = statement(PURGE)
            .planned_each_time()
            .bind::<Timestamptz, _>(before)
            .bind::<BigInt, _>(limit)
            .load::<Purged>(&mut conn)
            .await
            .and_then(the_row)
            .or_failure_on(&mut conn)
            .await?;
        Ok(u64::try_from(purged.purged).unwrap_or_default())
    }

    async fn sealed_secrets(&self) -> Result<Vec<(WebhookId, SealedSecret)>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = statement(SEALED_SECRETS)
            .load::<SecretRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        rows.into_iter()
            .map(|row| {
                let id = WebhookId::parse(row.id).map_err(DomainError::corrupt_row)?;
                Ok((id, SealedSecret::new(row.secret)))
            })
            .collect()
    }

    async fn replace_secret(
        &self,
        id: WebhookId,
        current: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let replaced = statement(REPLACE_SECRET)
            .bind::<BigInt, _>(id.get())
            .bind::<Text, _>(current.as_stored())
            .bind::<Text, _>(new.as_stored())
            .execute(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(replaced == 1)
    }
}

#[derive(QueryableByName)]
struct SecretRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    secret: String,
}
