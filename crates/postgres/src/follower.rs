//! Each process follows `order_events` to feed its live streams: every change writes its
//! event in its own statement, so the events are an outbox that nothing committed can
//! bypass, and reading them needs no lock that writers would queue on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double};
use diesel_async::RunQueryDsl;
use tokio::sync::watch;
use trachios_domain::ports::{ChangePublisher, ChangeWitness};
use trachios_domain::{CommittedVersion, DomainError, EventKind, OrderChange, OrderId, UserId};

use crate::error::QueryFailure;
use crate::pool::{connection, PgPool};
use crate::rows::{next_edit_after_event, order_contents_at_event, OrderRow};
use crate::statement::statement;

/// How the follower paces itself.
#[derive(Debug, Clone)]
pub struct FollowerSettings {
    /// How often it looks for new events: the longest a committed change waits before its
    /// streams hear of it (plus the read itself).
    pub poll_every: Duration,
    /// Events read at most per query (at most `MAX_ORDERS_PER_PUBLISH`); a full read is
    /// followed by another at once.
    pub batch: i64,
    /// How long an id skipped in the sequence is watched for a late commit. Ids are handed
    /// out before commit, so a transaction that commits after a later one leaves a hole
    /// that fills a moment later; a hole still empty after this was rolled back.
    pub gap_patience: Duration,
    /// The longest wait between attempts while the database cannot be read.
    pub max_backoff: Duration,
}

impl Default for FollowerSettings {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_millis(100),
            batch: MAX_ORDERS_PER_PUBLISH as i64,
            gap_patience: Duration::from_secs(30),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// The most events one poll reads, and so the most orders one `publish` hands over: a
/// subscriber's queue must hold at least this much, or a single lifecycle batch would cut it
/// off.
pub const MAX_ORDERS_PER_PUBLISH: usize = 5000;

/// Holes watched at most (each is looked up by every read): in-flight ids are bounded by the
/// pools' connections times the lifecycle batch, far below this; past it, the oldest holes
/// are given up first.
const MAX_GAPS: usize = 10_000;

/// The events after the cursor, and the holes below it that may still fill, oldest first,
/// each with the order as its change left it. Each part reads its own index range and each
/// order is looked up by its key (`OFFSET 0` keeps the lookup a lookup), whatever the
/// statistics say: one `OR` over a plain join let the planner, whenever the statistics
/// lagged behind a burst of writes, hash the whole orders table or walk the whole events
/// index on every poll — 15–30 ms per poll with 46,000 orders, seen in a profile.
const NEXT_EVENTS: &str = concat!(
    "\
SELECT e.id AS event_id, e.kind AS event_kind, o.id, o.customer_id, e.to_status AS status,
       e.version, e.next_step_at, o.created_at, e.created_at AS updated_at,
       ",
    order_contents_at_event!(),
    "
FROM (
    (SELECT * FROM order_events WHERE id > $1 ORDER BY id LIMIT $3)
    UNION ALL
    (SELECT * FROM order_events WHERE id = ANY($2))
) e
CROSS JOIN LATERAL (
    SELECT id, customer_id, item_description, created_at, lines, currency, total,
           shipping_address, note
    FROM orders WHERE id = e.order_id OFFSET 0
) o
",
    next_edit_after_event!(),
    "
ORDER BY e.id
LIMIT $3"
);

/// The most recent events read at start for the witness; when the witness looks back over
/// more than this many, it is told it lost track.
const MAX_REPLAYED_EVENTS: i64 = 200_000;

/// The versions and customers of the last `$1` events committed within the last `$2`
/// seconds (by their transaction's start: a little more than asked).
const RECENT_VERSIONS: &str = "SELECT e.order_id, o.customer_id, e.version
FROM (
    SELECT order_id, version FROM order_events
    WHERE id > (SELECT coalesce(max(id), 0) FROM order_events) - $1
      AND created_at > now() - make_interval(secs => $2)
) e
JOIN orders o ON o.id = e.order_id";

/// Whether an event older than those `RECENT_VERSIONS` reads still falls in the window.
const OLDER_STILL_RECENT: &str = "SELECT count(*) AS id FROM (
    SELECT created_at FROM order_events
    WHERE id <= (SELECT coalesce(max(id), 0) FROM order_events) - $1
    ORDER BY id DESC LIMIT 1
) older
WHERE created_at > now() - make_interval(secs => $2)";

/// Publishes every committed change, once, in commit order per order, to this process's
/// feed, and tells the witness (the shared cache) of each.
pub struct ChangeFollower {
    pool: PgPool,
    publisher: Arc<dyn ChangePublisher>,
    witness: Option<Arc<dyn ChangeWitness>>,
    settings: FollowerSettings,
    cursor: Cursor,
    started: watch::Sender<bool>,
}

impl ChangeFollower {
    pub fn new(
        pool: PgPool,
        publisher: Arc<dyn ChangePublisher>,
        mut settings: FollowerSettings,
    ) -> Self {
        settings.batch = settings.batch.clamp(1, MAX_ORDERS_PER_PUBLISH as i64);
        Self {
            pool,
            publisher,
            witness: None,
            settings,
            cursor: Cursor::default(),
            started: watch::channel(false).0,
        }
    }

    /// Tells `witness` of every change committed from `witness.looks_back()` before the
    /// follower starts on, and when it has read them all.
    pub fn witnessed_by(mut self, witness: Arc<dyn ChangeWitness>) -> Self {
        self.witness = Some(witness);
        self
    }

    /// Turns true once the follower has read where the events stand: every change
    /// committed after that is published.
    pub fn started(&self) -> watch::Receiver<bool> {
        self.started.subscribe()
    }

    /// Follows the events until `shutdown` turns true. Changes committed before the first
    /// successful read are not published (streams start from the moment they connect);
    /// none committed after it is missed, also across database outages.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = self.settings.poll_every;
        let mut started = false;
        let mut failing = false;
        while !*shutdown.borrow() {
            let step = if started {
                self.poll().await
            } else {
                self.start().await.map(|()| 0)
            };
            let wait = match step {
                Ok(read) => {
                    if !started {
                        started = true;
                        self.started.send_replace(true);
                    }
                    backoff = self.settings.poll_every;
                    if failing {
                        tracing::info!("change follower recovered");
                        failing = false;
                    }
                    if read as i64 >= self.settings.batch {
                        continue;
                    }
                    self.settings.poll_every
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err.chain(), "change follower cannot read events; retrying");
                        failing = true;
                    }
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                    backoff
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
            }
        }
        tracing::info!("change follower stopped");
    }

    /// Starts after the newest event, watching the ids below it that are not visible yet
    /// (transactions still committing when the follower starts).
    async fn start(&mut self) -> Result<(), DomainError> {
        let began = Instant::now();
        let mut conn = connection(&self.pool).await?;
        let recent: Vec<EventId> = diesel::sql_query(
            "SELECT id FROM order_events WHERE id > (SELECT coalesce(max(id), 0) FROM order_events) - 10000 ORDER BY id",
        )
        .load(&mut conn)
        .await
        .or_failure_on(&mut conn)
        .await?;
        let now = Instant::now();
        let mut ids = recent.into_iter().map(|event| event.id);
        // Holes below the window's first visible id are too old to matter; those inside it
        // may be transactions still committing.
        if let Some(first) = ids.next() {
            self.cursor.high = first;
        }
        for id in ids {
            self.cursor.saw(id, now);
        }
        drop(conn);
        if let Some(witness) = self.witness.clone() {
            // Read after the cursor was placed: whatever committed before `began` is in
            // the replay, and whatever commits later is above the cursor or in its holes.
            self.replay_to(witness.as_ref()).await?;
            witness.caught_up(began);
        }
        Ok(())
    }

    /// Tells the witness of the changes it looks back over, committed before the follower
    /// started; past `MAX_REPLAYED_EVENTS` of them, that it lost track.
    async fn replay_to(&self, witness: &dyn ChangeWitness) -> Result<(), DomainError> {
        let window = witness.looks_back().as_secs_f64();
        let mut conn = connection(&self.pool).await?;
        let recent: Vec<VersionRow> = statement(RECENT_VERSIONS)
            .planned_each_time()
            .bind::<BigInt, _>(MAX_REPLAYED_EVENTS)
            .bind::<Double, _>(window)
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        let older: Vec<EventId> = statement(OLDER_STILL_RECENT)
            .planned_each_time()
            .bind::<BigInt, _>(MAX_REPLAYED_EVENTS)
            .bind::<Double, _>(window)
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        let changes = recent
            .into_iter()
            .map(VersionRow::into_change)
            .collect::<Result<Vec<_>, _>>()?;
        witness.changed(&changes);
        if older.iter().any(|count| count.id > 0) {
            witness.lost_track();
        }
        tracing::debug!(
            changes = changes.len(),
            "replayed recent changes to the cache fence"
        );
        Ok(())
    }

    /// Reads the next events and publishes those someone watches; returns how many it read.
    async fn poll(&mut self) -> Result<usize, DomainError> {
        let now = Instant::now();
        self.cursor
            .forget_older_than(now, self.settings.gap_patience);
        let gaps: Vec<i64> = self.cursor.gaps.keys().copied().collect();
        let mut conn = connection(&self.pool).await?;
        // A cached plan compared every event with every hole, one by one: 1.5 s for 2,000
        // holes over 130,000 events, measured, and the follower held a core at 100% for
        // minutes after a burst of writes. Planned with the values, the hole list is looked
        // up in the primary key, or hashed, whatever the statistics say.
        let rows: Vec<EventRow> = statement(NEXT_EVENTS)
            .planned_each_time()
            .bind::<BigInt, _>(self.cursor.high)
            .bind::<Array<BigInt>, _>(gaps)
            .bind::<BigInt, _>(self.settings.batch)
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        drop(conn);
        let read = rows.len();
        let mut changed = Vec::new();
        let mut versions = Vec::with_capacity(read);
        for row in rows {
            self.cursor.saw(row.event_id, now);
            let order = row.order.into_order()?;
            versions.push(CommittedVersion::from(&order));
            if self.publisher.wants(order.id, order.customer_id) {
                let kind = EventKind::parse(&row.event_kind).map_err(DomainError::corrupt_row)?;
                changed.push(OrderChange { order, kind });
            }
        }
        if let Some(witness) = &self.witness {
            // Before any stream hears of these changes, so that a client reacting to one
            // through this process cannot read an older version from the cache.
            witness.changed(&versions);
            if (read as i64) < self.settings.batch {
                witness.caught_up(now);
            }
        }
        if !changed.is_empty() {
            self.publisher.publish(changed);
        }
        Ok(read)
    }
}

/// Where the follower is: every id up to `high` has been read, except the holes.
#[derive(Debug, Default)]
struct Cursor {
    high: i64,
    gaps: BTreeMap<i64, Instant>,
}

impl Cursor {
    fn saw(&mut self, id: i64, now: Instant) {
        if id > self.high {
            // Ids handed out but not visible yet; bounded, so that a jump in the sequence
            // (values consumed by a failed bulk insert) cannot flood the map.
            let first_missing = (self.high + 1).max(id - MAX_GAPS as i64);
            for missing in first_missing..id {
                self.gaps.insert(missing, now);
            }
            self.high = id;
        } else {
            self.gaps.remove(&id);
        }
        while self.gaps.len() > MAX_GAPS {
            self.gaps.pop_first();
        }
    }

    fn forget_older_than(&mut self, now: Instant, patience: Duration) {
        self.gaps
            .retain(|_, first_seen| now.duration_since(*first_seen) < patience);
    }
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = BigInt)]
    order_id: i64,
    #[diesel(sql_type = BigInt)]
    customer_id: i64,
    #[diesel(sql_type = BigInt)]
    version: i64,
}

impl VersionRow {
    fn into_change(self) -> Result<CommittedVersion, DomainError> {
        Ok(CommittedVersion {
            order_id: OrderId::parse(self.order_id).map_err(DomainError::corrupt_row)?,
            customer_id: UserId::parse(self.customer_id).map_err(DomainError::corrupt_row)?,
            version: self.version,
        })
    }
}

#[derive(QueryableByName)]
struct EventId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// An event with the order as its change left it: the fixed fields from `orders`, the
/// changing ones from the event.
#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = BigInt)]
    event_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    event_kind: String,
    #[diesel(embed)]
    order: OrderRow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_skipped_are_watched_until_they_appear_or_grow_old() {
        let t0 = Instant::now();
        let mut cursor = Cursor::default();
        cursor.saw(1, t0);
        cursor.saw(4, t0);
        assert_eq!(cursor.high, 4);
        assert_eq!(cursor.gaps.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
        cursor.saw(3, t0);
        assert_eq!(cursor.gaps.keys().copied().collect::<Vec<_>>(), vec![2]);
        cursor.forget_older_than(t0 + Duration::from_secs(31), Duration::from_secs(30));
        assert!(cursor.gaps.is_empty());
    }

    #[test]
    fn a_jump_in_the_sequence_watches_a_bounded_number_of_holes() {
        let mut cursor = Cursor::default();
        cursor.saw(10_000_000, Instant::now());
        assert_eq!(cursor.gaps.len(), MAX_GAPS);
        assert_eq!(
            cursor.gaps.last_key_value().map(|(k, _)| *k),
            Some(9_999_999)
        );
    }
}
