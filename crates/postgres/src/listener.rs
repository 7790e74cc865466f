//! One `LISTEN` connection per process: turns the notifications that committed changes send
//! into orders for the process's change feed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::watch;
use trachios_domain::ports::ChangePublisher;
use trachios_domain::{error_chain, DomainError, ItemDescription, Order};

use crate::changes::{parse_payload, OrderChanged, CHANNEL};
use crate::error::{corrupt_row, QueryFailure};
use crate::pool::{connection, PgPool};
use crate::rows::{into_orders, OrderRow};

/// How the listener paces itself.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// How often an idle listener checks that its connection still works: a connection
    /// lost without a word (a dropped network) is found within this time.
    pub health_every: Duration,
    /// The longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Orders re-read at most after a reconnection; more changed while the listener was
    /// away means subscribers are told of a gap instead.
    pub catch_up_limit: i64,
}

impl Default for ListenerSettings {
    fn default() -> Self {
        Self {
            health_every: Duration::from_secs(5),
            max_backoff: Duration::from_secs(2),
            catch_up_limit: 10_000,
        }
    }
}

/// The name the listener's session has in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "trachios-listener";
/// Notifications handled together: one read of their orders' fixed fields for all.
const DRAIN_AT_ONCE: usize = 128;
/// The most orders one `publish` call hands over: what the notifications drained at once
/// can carry (64 each), and the size of the chunks a catch-up is published in. A
/// subscriber's queue must hold at least this much, or a single batch would cut it off.
pub const MAX_ORDERS_PER_PUBLISH: usize = DRAIN_AT_ONCE * 64;
/// Versions remembered, so that a change re-read after a reconnection and heard before it
/// is published once.
const REMEMBERED_VERSIONS: usize = 100_000;
/// Changes are timestamped by the process that made them before their commit: the catch-up
/// after a reconnection reaches this far behind the last moment the listener knew it was
/// connected, for clocks that differ and transactions that were committing.
const CATCH_UP_SLACK: chrono::Duration = chrono::Duration::seconds(5);

/// Listens for committed changes and publishes them to this process's feed.
pub struct ChangeListener {
    database_url: String,
    pool: PgPool,
    publisher: Arc<dyn ChangePublisher>,
    settings: ListenerSettings,
    published: RecentVersions,
}

impl ChangeListener {
    pub fn new(
        database_url: &str,
        pool: PgPool,
        publisher: Arc<dyn ChangePublisher>,
        settings: ListenerSettings,
    ) -> Self {
        Self {
            database_url: database_url.to_owned(),
            pool,
            publisher,
            settings,
            published: RecentVersions::default(),
        }
    }

    /// Listens until `shutdown` turns true, reconnecting whenever the connection is lost;
    /// after a reconnection it re-reads the orders that changed meanwhile.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        let mut lost_since: Option<DateTime<Utc>> = None;
        let mut failing = false;
        while !*shutdown.borrow() {
            let connected = tokio::select! {
                connected = self.connect() => connected,
                _ = shutdown.changed() => break,
            };
            match connected {
                Ok((conn, now)) => {
                    backoff = Duration::from_millis(100);
                    if failing {
                        tracing::info!("change listener reconnected");
                        failing = false;
                    }
                    if let Some(since) = lost_since.take() {
                        self.catch_up(since - CATCH_UP_SLACK).await;
                    }
                    match self.listen(conn, now, &mut shutdown).await {
                        Some(alive_at) => lost_since = Some(alive_at),
                        None => break,
                    }
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, "change listener cannot connect; retrying");
                        failing = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => break,
                    }
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                }
            }
        }
        tracing::info!("change listener stopped");
    }

    /// A fresh connection that listens, and the database's time once it does.
    async fn connect(&self) -> Result<(AsyncPgConnection, DateTime<Utc>), String> {
        let attempt = async {
            let mut conn = AsyncPgConnection::establish(&self.database_url)
                .await
                .map_err(|e| e.to_string())?;
            diesel::sql_query(format!(
                "SET application_name = '{LISTENER_APPLICATION_NAME}'"
            ))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
            diesel::sql_query(format!("LISTEN {CHANNEL}"))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            let now = database_now(&mut conn).await.map_err(|e| e.to_string())?;
            Ok((conn, now))
        };
        tokio::time::timeout(self.settings.health_every, attempt)
            .await
            .map_err(|_| "connecting timed out".to_owned())?
    }

    /// Handles notifications until the connection is lost (returning the last moment it
    /// was known to work) or the process shuts down (`None`).
    async fn listen(
        &mut self,
        mut conn: AsyncPgConnection,
        mut alive_at: DateTime<Utc>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<DateTime<Utc>> {
        let mut health = tokio::time::interval(self.settings.health_every);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        health.tick().await;
        loop {
            let heard = {
                let mut notifications = std::pin::pin!(conn.notifications_stream());
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => return None,
                    // Before notifications, so that a busy channel still checks in.
                    _ = health.tick() => None,
                    first = notifications.next() => match first {
                        Some(Ok(first)) => {
                            let mut payloads = vec![first.payload];
                            while payloads.len() < DRAIN_AT_ONCE {
                                match notifications.next().now_or_never() {
                                    Some(Some(Ok(more))) => payloads.push(more.payload),
                                    _ => break,
                                }
                            }
                            Some(payloads)
                        }
                        Some(Err(err)) => {
                            tracing::warn!(error = %err, "change listener lost its connection; reconnecting");
                            return Some(alive_at);
                        }
                        None => {
                            tracing::warn!("change listener's connection closed; reconnecting");
                            return Some(alive_at);
                        }
                    },
                }
            };
            match heard {
                Some(payloads) => self.deliver(&payloads).await,
                None => match database_now(&mut conn).await {
                    Ok(now) => alive_at = now,
                    Err(err) => {
                        tracing::warn!(error = %err, "change listener's connection failed its check; reconnecting");
                        return Some(alive_at);
                    }
                },
            }
        }
    }

    /// Publishes the changes of these payloads that someone watches and that were not
    /// published before, with their orders' fixed fields read in one query.
    async fn deliver(&mut self, payloads: &[String]) {
        let mut changes = Vec::new();
        for payload in payloads {
            match parse_payload(payload) {
                Some(records) => changes.extend(records),
                None => {
                    tracing::warn!(payload = %payload, "ignoring a malformed change notification")
                }
            }
        }
        changes.retain(|c| self.published.record(c.id.get(), c.version));
        changes.retain(|c| self.publisher.wants(c.id, c.customer_id));
        if changes.is_empty() {
            return;
        }
        match self.complete(changes).await {
            Ok(orders) => self.publisher.publish(orders),
            Err(err) => {
                tracing::warn!(error = %err.chain(), "reading changed orders failed; telling streams of a gap");
                self.publisher.gap();
            }
        }
    }

    /// The orders as each change left them: the notification carries what changes, the
    /// table what never does.
    async fn complete(&self, changes: Vec<OrderChanged>) -> Result<Vec<Order>, DomainError> {
        let ids: Vec<i64> = changes.iter().map(|c| c.id.get()).collect();
        let mut conn = connection(&self.pool).await?;
        let rows: Vec<FixedFields> = diesel::sql_query(
            "SELECT id, item_description, created_at FROM orders WHERE id = ANY($1)",
        )
        .bind::<Array<BigInt>, _>(ids)
        .load(&mut conn)
        .await
        .or_failure_on(&mut conn)
        .await?;
        let mut fixed: HashMap<i64, FixedFields> = rows.into_iter().map(|r| (r.id, r)).collect();
        let mut orders = Vec::with_capacity(changes.len());
        for change in changes {
            // An order deleted since (its customer was) has nobody left to tell.
            let Some(fields) = fixed.get_mut(&change.id.get()) else {
                continue;
            };
            orders.push(Order {
                id: change.id,
                customer_id: change.customer_id,
                item_description: ItemDescription::parse(&fields.item_description)
                    .map_err(corrupt_row)?,
                status: change.status,
                version: change.version,
                next_step_at: change.next_step_at,
                created_at: fields.created_at,
                updated_at: change.updated_at,
            });
        }
        Ok(orders)
    }

    /// Re-reads the orders changed since `since` and publishes those not heard before; if
    /// that cannot be done completely, subscribers are told of a gap.
    async fn catch_up(&mut self, since: DateTime<Utc>) {
        let limit = self.settings.catch_up_limit;
        let read = async {
            let mut conn = connection(&self.pool).await?;
            let rows: Vec<OrderRow> = diesel::sql_query(
                "SELECT * FROM orders WHERE updated_at > $1 ORDER BY updated_at LIMIT $2",
            )
            .bind::<Timestamptz, _>(since)
            .bind::<BigInt, _>(limit + 1)
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
            into_orders(rows)
        };
        match read.await {
            Ok(orders) if orders.len() as i64 <= limit => {
                let missed: Vec<Order> = orders
                    .into_iter()
                    .filter(|o| self.published.record(o.id.get(), o.version))
                    .filter(|o| self.publisher.wants(o.id, o.customer_id))
                    .collect();
                tracing::info!(
                    count = missed.len(),
                    "change listener caught up after reconnecting"
                );
                self.publisher.publish(missed);
            }
            Ok(_) => {
                tracing::warn!(
                    limit,
                    "too many orders changed while the listener was away; telling streams of a gap"
                );
                self.publisher.gap();
            }
            Err(err) => {
                tracing::warn!(error = %error_chain(&err), "catching up after reconnecting failed; telling streams of a gap");
                self.publisher.gap();
            }
        }
    }
}

#[derive(QueryableByName)]
struct FixedFields {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    item_description: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct DatabaseNow {
    #[diesel(sql_type = Timestamptz)]
    now: DateTime<Utc>,
}

async fn database_now(conn: &mut AsyncPgConnection) -> QueryResult<DateTime<Utc>> {
    let row: DatabaseNow = diesel::sql_query("SELECT now() AS now")
        .get_result(conn)
        .await?;
    Ok(row.now)
}

/// The latest version published of recently changed orders, forgetting the oldest entries
/// first so that it stays bounded.
#[derive(Default)]
struct RecentVersions {
    latest: HashMap<i64, i64>,
    order: VecDeque<(i64, i64)>,
}

impl RecentVersions {
    /// Records the version; false if this or a later version was recorded already.
    fn record(&mut self, id: i64, version: i64) -> bool {
        if self.latest.get(&id).is_some_and(|&seen| seen >= version) {
            return false;
        }
        self.latest.insert(id, version);
        self.order.push_back((id, version));
        while self.order.len() > REMEMBERED_VERSIONS {
            if let Some((old_id, old_version)) = self.order.pop_front() {
                if self.latest.get(&old_id) == Some(&old_version) {
                    self.latest.remove(&old_id);
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_published_once_and_never_after_a_later_one() {
        let mut recent = RecentVersions::default();
        assert!(recent.record(1, 1));
        assert!(!recent.record(1, 1));
        assert!(recent.record(1, 3));
        assert!(!recent.record(1, 2));
        assert!(recent.record(2, 1));
    }

    #[test]
    fn remembered_versions_stay_bounded() {
        let mut recent = RecentVersions::default();
        for id in 0..(REMEMBERED_VERSIONS as i64 + 500) {
            recent.record(id, 1);
        }
        assert_eq!(recent.latest.len(), REMEMBERED_VERSIONS);
        assert!(recent.order.len() <= REMEMBERED_VERSIONS);
    }
}
