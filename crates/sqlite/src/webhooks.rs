//! Webhook endpoints, their deliveries and the attempt log in the embedded store. As in
//! PostgreSQL, the deliveries are written by the `order_events_webhooks` trigger in the
//! statement that records each order event; claims need no lock beyond the single writer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use trachios_domain::ports::WebhookRepository;
use trachios_domain::SealedSecret;
use trachios_domain::{
    ActorKind, AttemptRecord, DeliveryLogEntry, DomainError, NewWebhook, OrderStatus,
    PendingDelivery, StoredDelivery, Subscription, Webhook, WebhookId,
};

use crate::rows::{instant, micros, OrderRow};
use crate::store::SqliteStore;

/// Webhooks in the embedded store.
#[derive(Clone)]
pub struct SqliteWebhookRepository {
    store: SqliteStore,
}

impl SqliteWebhookRepository {
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

const COUNT: &str = "SELECT count(*) AS n FROM webhooks";

const INSERT: &str = "\
INSERT INTO webhooks (url, secret, order_created, status_changed, order_updated, created_at)
VALUES (?, ?, ?, ?, ?, ?)
RETURNING id, url, order_created, status_changed, order_updated, created_at";

const LIST: &str = "\
SELECT id, url, order_created, status_changed, order_updated, created_at FROM webhooks ORDER BY id";

/// Events that only this endpoint's deliveries still need.
const DELETE_EVENTS: &str = "\
DELETE FROM webhook_events WHERE event_id IN (
    SELECT d.event_id FROM webhook_deliveries d
    WHERE d.webhook_id = ?
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries x
          WHERE x.event_id = d.event_id AND x.webhook_id <> d.webhook_id))";

const DELETE: &str = "DELETE FROM webhooks WHERE id = ?";

const SEALED_SECRETS: &str = "SELECT id, secret FROM webhooks ORDER BY id";

const REPLACE_SECRET: &str = "UPDATE webhooks SET secret = ? WHERE id = ? AND secret = ?";

const EXISTS: &str = "SELECT count(*) AS n FROM webhooks WHERE id = ?";

const ATTEMPTS: &str = "\
SELECT id, event_uuid, event_type, attempt, status_code, error, attempted_at
FROM webhook_attempts
WHERE webhook_id = ? AND id < ?
ORDER BY id DESC
LIMIT ?";

/// Due deliveries, each the oldest pending event of its order for its endpoint, with the
/// attempt they are about to get and the order as their event left it.
const DUE: &str = "\
SELECT c.id AS delivery_id, c.webhook_id, c.attempts + 1 AS attempts, w.url, w.secret,
       we.uuid AS event_uuid, e.kind AS event_kind, e.from_status, e.actor AS event_actor, e.actor_id,
       o.id, o.customer_id, e.to_status AS status, e.version,
       e.next_step_at, o.created_at, e.created_at AS updated_at,
       CASE WHEN r.id IS NULL THEN o.item_description
            ELSE json_extract(r.replaced, '$.item_description') END AS item_description,
       CASE WHEN r.id IS NULL THEN o.lines ELSE json_extract(r.replaced, '$.lines') END AS lines,
       CASE WHEN r.id IS NULL THEN o.currency ELSE json_extract(r.replaced, '$.currency') END AS currency,
       CASE WHEN r.id IS NULL THEN o.total ELSE json_extract(r.replaced, '$.total') END AS total,
       CASE WHEN r.id IS NULL THEN o.shipping_address
            ELSE json_extract(r.replaced, '$.shipping_address') END AS shipping_address,
       CASE WHEN r.id IS NULL THEN o.note ELSE json_extract(r.replaced, '$.note') END AS note
FROM webhook_deliveries c
JOIN webhooks w ON w.id = c.webhook_id
JOIN webhook_events we ON we.event_id = c.event_id
JOIN order_events e ON e.id = c.event_id
JOIN orders o ON o.id = e.order_id
-- The order's contents as the event left them: what the first edit after it replaced, or
-- else the order's own columns.
LEFT JOIN order_events r ON r.id = (
    SELECT x.id FROM order_events x
    WHERE x.order_id = e.order_id AND x.id > e.id AND x.kind = 'edited'
    ORDER BY x.id LIMIT 1)
WHERE c.state = 'pending' AND c.next_attempt_at <= ?
  AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries p
      WHERE p.webhook_id = c.webhook_id AND p.order_id = c.order_id
        AND p.state = 'pending' AND p.id < c.id)
ORDER BY c.next_attempt_at, c.id
LIMIT ?";

/// Whether anything is due, read without the writer: idle workers poll, and the writer is
/// every request's.
const ANY_DUE: &str = "\
SELECT count(*) AS n FROM (
    SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1)";

const CLAIM: &str = "\
UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?";

/// The attempt's outcome, unless a later attempt was claimed since.
const APPLY: &str = "\
UPDATE webhook_deliveries
SET state = ?, next_attempt_at = coalesce(?, next_attempt_at),
    finished_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END
WHERE id = ? AND attempts = ? AND state = 'pending'";

/// The attempt, logged while its endpoint and delivery exist.
const LOG: &str = "\
INSERT INTO webhook_attempts
    (webhook_id, event_uuid, event_type, attempt, status_code, error, attempted_at)
SELECT d.webhook_id, we.uuid, ?, ?, ?, ?, ?
FROM webhook_deliveries d
JOIN webhook_events we ON we.event_id = d.event_id
WHERE d.id = ?";

const PURGE_DELIVERIES: &str = "\
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE state <> 'pending' AND finished_at < ?
    ORDER BY finished_at LIMIT ?)
RETURNING event_id";

const PURGE_EVENT: &str = "\
DELETE FROM webhook_events
WHERE event_id = ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE event_id = ?)";

const PURGE_ATTEMPTS: &str = "\
DELETE FROM webhook_attempts WHERE id IN (
    SELECT id FROM webhook_attempts WHERE attempted_at < ? ORDER BY attempted_at LIMIT ?)";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct EventId {
    #[diesel(sql_type = BigInt)]
    event_id: i64,
}

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
    #[diesel(sql_type = BigInt)]
    created_at: i64,
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
            instant(self.created_at)?,
        )
    }
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
    #[diesel(sql_type = BigInt)]
    attempted_at: i64,
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
            instant(self.attempted_at)?,
        )
    }
}

#[derive(QueryableByName)]
struct DueRow {
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
    #[diesel(sql_type = Nullable<Text>)]
    from_status: Option<String>,
    #[diesel(sql_type = Text)]
    event_actor: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    actor_id: Option<i64>,
    #[diesel(embed)]
    order: OrderRow,
}

impl DueRow {
    fn into_pending(self) -> Result<PendingDelivery, DomainError> {
        let corrupt = DomainError::corrupt_row;
        StoredDelivery {
            delivery_id: self.delivery_id,
            webhook_id: self.webhook_id,
            url: self.url,
            secret: SealedSecret::new(self.secret),
            attempt: self.attempts,
            event_id: self.event_uuid,
            kind: self.event_kind,
            from: self
                .from_status
                .as_deref()
                .map(OrderStatus::parse)
                .transpose()
                .map_err(corrupt)?,
            actor: ActorKind::parse(&self.event_actor).map_err(corrupt)?,
            actor_id: self.actor_id,
            order: self.order.into_order()?,
        }
        .into_pending()
    }
}

#[async_trait]
impl WebhookRepository for SqliteWebhookRepository {
    async fn insert(
        &self,
        webhook: NewWebhook,
        max: usize,
    ) -> Result<Option<Webhook>, DomainError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let row = self
            .store
            .write(
                move |conn| {
                    let existing = diesel::sql_query(COUNT).get_result::<Count>(conn)?.n;
                    if existing >= max {
                        return Ok(None);
                    }
                    diesel::sql_query(INSERT)
                        .bind::<Text, _>(webhook.url.as_str())
                        .bind::<Text, _>(webhook.secret.as_stored())
                        .bind::<Bool, _>(webhook.subscription.order_created)
                        .bind::<Bool, _>(webhook.subscription.status_changed)
                        .bind::<Bool, _>(webhook.subscription.order_updated)
                        .bind::<BigInt, _>(micros(webhook.created_at))
                        .get_result::<WebhookRow>(conn)
                        .map(Some)
                },
                |_, _| {},
            )
            .await?;
        row.map(WebhookRow::into_webhook).transpose()
    }

    async fn list(&self) -> Result<Vec<Webhook>, DomainError> {
        let rows = self
            .store
            .read(|conn| diesel::sql_query(LIST).load::<WebhookRow>(conn))
            .await?;
        rows.into_iter().map(WebhookRow::into_webhook).collect()
    }

    async fn delete(&self, id: WebhookId) -> Result<bool, DomainError> {
        self.store
            .write(
                move |conn| {
                    diesel::sql_query(DELETE_EVENTS)
                        .bind::<BigInt, _>(id.get())
                        .execute(conn)?;
                    let deleted = diesel::sql_query(DELETE)
                        .bind::<BigInt, _>(id.get())
                        .execute(conn)?;
                    Ok(deleted > 0)
                },
                |_, _| {},
            )
            .await
    }

    async fn attempts(
        &self,
        id: WebhookId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Option<Vec<DeliveryLogEntry>>, DomainError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .store
            .read(move |conn| {
                let exists = diesel::sql_query(EXISTS)
                    .bind::<BigInt, _>(id.get())
                    .get_result::<Count>(conn)?
                    .n;
                if exists == 0 {
                    return Ok(None);
                }
                diesel::sql_query(ATTEMPTS)
                    .bind::<BigInt, _>(id.get())
                    .bind::<BigInt, _>(before.unwrap_or(i64::MAX))
                    .bind::<BigInt, _>(limit)
                    .load::<AttemptRow>(conn)
                    .map(Some)
            })
            .await?;
        rows.map(|rows| rows.into_iter().map(AttemptRow::into_entry).collect())
            .transpose()
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingDelivery>, DomainError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let any_due = self
            .store
            .read(move |conn| {
                diesel::sql_query(ANY_DUE)
                    .bind::<BigInt, _>(micros(now))
                    .get_result::<Count>(conn)
            })
            .await?;
        if any_due.n == 0 {
            return Ok(Vec::new());
        }
        let rows = self
            .store
            .write(
                move |conn| {
                    let due = diesel::sql_query(DUE)
                        .bind::<BigInt, _>(micros(now))
                        .bind::<BigInt, _>(limit)
                        .load::<DueRow>(conn)?;
                    for row in &due {
                        diesel::sql_query(CLAIM)
                            .bind::<BigInt, _>(micros(lease_until))
                            .bind::<BigInt, _>(row.delivery_id)
                            .execute(conn)?;
                    }
                    Ok(due)
                },
                |_, _| {},
            )
            .await?;
        rows.into_iter().map(DueRow::into_pending).collect()
    }

    async fn record(&self, attempts: Vec<AttemptRecord>) -> Result<(), DomainError> {
        if attempts.is_empty() {
            return Ok(());
        }
        self.store
            .write(
                move |conn| {
                    for a in &attempts {
                        let (state, retry_at) = a.next.stored();
                        let attempt = i32::try_from(a.attempt).unwrap_or(i32::MAX);
                        let at = micros(a.at);
                        diesel::sql_query(LOG)
                            .bind::<Text, _>(a.event_type.as_str())
                            .bind::<Integer, _>(attempt)
                            .bind::<Nullable<Integer>, _>(a.status_code.map(i32::from))
                            .bind::<Nullable<Text>, _>(a.error.as_deref())
                            .bind::<BigInt, _>(at)
                            .bind::<BigInt, _>(a.delivery_id)
                            .execute(conn)?;
                        diesel::sql_query(APPLY)
                            .bind::<Text, _>(state)
                            .bind::<Nullable<BigInt>, _>(retry_at.map(micros))
                            .bind::<Text, _>(state)
                            .bind::<BigInt, _>(at)
                            .bind::<BigInt, _>(a.delivery_id)
                            .bind::<Integer, _>(attempt)
                            .execute(conn)?;
                    }
                    Ok(())
                },
                |_, _| {},
            )
            .await
    }

    async fn purge_finished(&self, before: DateTime<Utc>, limit: i64) -> Result<u64, DomainError> {
        let before = micros(before);
        self.store
            .write(
                move |conn| {
                    let gone = diesel::sql_query(PURGE_DELIVERIES)
                        .bind::<BigInt, _>(before)
                        .bind::<BigInt, _>(limit)
                        .load::<EventId>(conn)?;
                    let mut purged = gone.len();
                    let mut events: Vec<i64> = gone.into_iter().map(|g| g.event_id).collect();
                    events.sort_unstable();
                    events.dedup();
                    for event in events {
                        purged += diesel::sql_query(PURGE_EVENT)
                            .bind::<BigInt, _>(event)
                            .bind::<BigInt, _>(event)
                            .execute(conn)?;
                    }
                    purged += diesel::sql_query(PURGE_ATTEMPTS)
                        .bind::<BigInt, _>(before)
                        .bind::<BigInt, _>(limit)
                        .execute(conn)?;
                    Ok(u64::try_from(purged).unwrap_or_default())
                },
                |_, _| {},
            )
            .await
    }

    async fn sealed_secrets(&self) -> Result<Vec<(WebhookId, SealedSecret)>, DomainError> {
        let rows = self
            .store
            .read(|conn| diesel::sql_query(SEALED_SECRETS).load::<SecretRow>(conn))
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
        let (current, new) = (current.as_stored().to_owned(), new.as_stored().to_owned());
        self.store
            .write(
                move |conn| {
                    let replaced = diesel::sql_query(REPLACE_SECRET)
                        .bind::<Text, _>(&new)
                        .bind::<BigInt, _>(id.get())
                        .bind::<Text, _>(&current)
                        .execute(conn)?;
                    Ok(replaced == 1)
                },
                |_, _| {},
            )
            .await
    }
}

#[derive(QueryableByName)]
struct SecretRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    secret: String,
}
