//! The statements that run on every tick and pick rows by time — the lifecycle's claim of
//! due orders, the webhook workers' claim of due deliveries, the purges of finished
//! deliveries and expired idempotency keys — keep reading only the rows they need however
//! a table has grown since the connection first ran them.
//!
//! PostgreSQL switches a repeated prepared statement to a generic plan after five runs; made
//! while a table held three rows, that plan scanned and sorted the whole table on every
//! later run until autovacuum's next ANALYZE (measured: 40 ms a tick at 262,000 orders; 46 s
//! for one webhook claim over 200,000 pending deliveries). Each test runs its statement six
//! times on a small table through a one-connection pool, grows the table by 100,000 rows
//! that the statement must not touch, runs it again and counts the rows it read, by
//! sequential scans and through every index of the table (a walk of a whole index reads
//! as many as a scan of the table).

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use trachios_domain::ports::{OrderRepository, WebhookRepository};
use trachios_domain::{DueSteps, OrderId};
use trachios_postgres::*;

use crate::fixture::{fixture, new_order, Fixture};

/// More runs than PostgreSQL's five custom plans before it settles on a generic one.
const RUNS_ON_A_SMALL_TABLE: usize = 6;
const GROWTH: &str = "100000";
/// Reading the grown table even once would read 100,000 rows.
const AT_MOST_READ: i64 = 1_000;

#[derive(diesel::QueryableByName)]
struct RowsRead {
    #[diesel(sql_type = BigInt)]
    rows_read: i64,
}

/// The repository's pool (one connection, so its statements are the ones that get
/// reused) and a separate session that loads data and reads the statistics.
struct Bench {
    pool: PgPool,
    observer: AsyncPgConnection,
}

impl Bench {
    async fn new(f: &Fixture) -> Self {
        let pool = build_pool(
            &f.url,
            &PoolSettings {
                max_size: 1,
                ..PoolSettings::default()
            },
        )
        .unwrap();
        let observer = trachios_postgres::connect(&f.url).await.unwrap();
        Self { pool, observer }
    }

    async fn sql(&mut self, sql: &str) {
        self.observer.batch_execute(sql).await.unwrap();
    }

    /// Rows and index entries of `table` read so far, by sequential scans and index scans,
    /// by every session that has reported its statistics. The observer reports its own
    /// first, so that loading the table is never counted against a later statement.
    async fn rows_read(&mut self, table: &str) -> i64 {
        self.sql("SELECT pg_stat_force_next_flush()").await;
        self.sql("SELECT pg_stat_clear_snapshot()").await;
        diesel::sql_query(
            "SELECT (SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = $1)
                  + (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes
                     WHERE relname = $1)::bigint AS rows_read",
        )
        .bind::<diesel::sql_types::Text, _>(table)
        .load::<RowsRead>(&mut self.observer)
        .await
        .unwrap()
        .pop()
        .expect("the table has statistics")
        .rows_read
    }

    /// Makes the pool's session report what it read so far, deterministically.
    async fn report_statistics(&self) {
        let mut session = self.pool.get().await.unwrap();
        session
            .batch_execute("SELECT pg_stat_force_next_flush()")
            .await
            .unwrap();
        session.batch_execute("SELECT 1").await.unwrap();
    }
}

async fn register_webhook(bench: &mut Bench) {
    bench
        .sql(
            "INSERT INTO webhooks (url, secret, order_created, status_changed, created_at)
             VALUES ('https://hooks.example/orders', 'secret', true, true, now())",
        )
        .await;
}

/// 100,000 orders placed in one statement; with a webhook registered, each gets its
/// pending delivery from the outbox trigger, due when its event is.
async fn place_bulk_orders(bench: &mut Bench, customer: i64) {
    place_bulk_orders_with_events_at(bench, customer, "created_at").await;
}

/// The same, their events recorded at `events_at` (an SQL expression over the new rows).
async fn place_bulk_orders_with_events_at(bench: &mut Bench, customer: i64, events_at: &str) {
    bench
        .sql(&format!(
            "WITH o AS (
                 INSERT INTO orders (customer_id, item_description, next_step_at)
                 SELECT {customer}, 'Bulk ' || n, now() + interval '1 hour'
                 FROM generate_series(1, {GROWTH}) AS n
                 RETURNING id, created_at, next_step_at
             )
             INSERT INTO order_events (order_id, kind, to_status, actor, actor_id, created_at, version, next_step_at)
             SELECT id, 'created', 'created', 'customer', {customer}, {events_at}, 1, next_step_at FROM o"
        ))
        .await;
}

/// The small table every test starts from: three orders, due in an hour.
async fn place_three_orders(f: &Fixture) {
    for _ in 0..3 {
        f.orders
            .insert(new_order(f.a, Duration::hours(1)))
            .await
            .unwrap();
    }
}

fn an_hour_ago() -> DateTime<Utc> {
    Utc::now() - Duration::hours(1)
}

#[tokio::test]
async fn a_tick_reads_only_due_orders_after_the_table_grew_past_its_first_plans() {
    let f = fixture().await;
    place_three_orders(&f).await;
    let mut bench = Bench::new(&f).await;
    bench.sql("ANALYZE orders").await;
    let orders = PgOrderRepository::new(bench.pool.clone());
    let tick = || DueSteps::at(Utc::now(), Duration::seconds(15));
    for _ in 0..RUNS_ON_A_SMALL_TABLE {
        orders.advance_due(&tick(), 1000).await.unwrap();
    }
    place_bulk_orders(&mut bench, f.a.get()).await;

    let before = bench.rows_read("orders").await;
    let moved = orders.advance_due(&tick(), 1000).await.unwrap();
    assert!(moved.is_empty(), "nothing is due for an hour");
    bench.report_statistics().await;
    let read = bench.rows_read("orders").await - before;
    assert!(
        read < AT_MOST_READ,
        "the tick read {read} orders to find none due"
    );
}

#[tokio::test]
async fn a_webhook_claim_reads_only_due_deliveries_after_the_backlog_grew() {
    let f = fixture().await;
    let mut bench = Bench::new(&f).await;
    register_webhook(&mut bench).await;
    place_three_orders(&f).await;
    bench.sql("ANALYZE webhook_deliveries").await;
    let webhooks = PgWebhookRepository::new(bench.pool.clone());
    let claim = || async {
        let now = Utc::now();
        webhooks
            .claim_due(now, now + Duration::minutes(1), 100)
            .await
            .unwrap()
    };
    assert_eq!(claim().await.len(), 3, "the first claim takes all three");
    for _ in 1..RUNS_ON_A_SMALL_TABLE {
        claim().await;
    }
    // A backlog none of which is due: 100,000 deliveries that wait an hour. Written due
    // later from the start rather than updated, since an update would leave index entries
    // for the old due times that every scan must step over until vacuum removes them.
    place_bulk_orders_with_events_at(&mut bench, f.a.get(), "now() + interval '1 hour'").await;

    let before = bench.rows_read("webhook_deliveries").await;
    assert!(claim().await.is_empty(), "every delivery waits an hour");
    bench.report_statistics().await;
    let read = bench.rows_read("webhook_deliveries").await - before;
    assert!(
        read < AT_MOST_READ,
        "the claim read {read} deliveries to find none due"
    );
}

#[tokio::test]
async fn a_webhook_purge_reads_only_old_deliveries_and_attempts_after_both_grew() {
    let f = fixture().await;
    let mut bench = Bench::new(&f).await;
    register_webhook(&mut bench).await;
    place_three_orders(&f).await;
    let finish_everything = "
        UPDATE webhook_deliveries SET state = 'delivered', finished_at = now();
        INSERT INTO webhook_attempts (webhook_id, event_uuid, event_type, attempt, status_code, attempted_at)
        SELECT d.webhook_id, we.uuid, 'order.created', 1, 204, now()
        FROM webhook_deliveries d JOIN webhook_events we ON we.event_id = d.event_id
        WHERE NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.event_uuid = we.uuid)";
    bench.sql(finish_everything).await;
    bench
        .sql("ANALYZE webhook_deliveries; ANALYZE webhook_attempts")
        .await;
    let webhooks = PgWebhookRepository::new(bench.pool.clone());
    for _ in 0..RUNS_ON_A_SMALL_TABLE {
        assert_eq!(
            webhooks.purge_finished(an_hour_ago(), 100).await.unwrap(),
            0
        );
    }
    // A busy hour: 100,000 deliveries made and logged, none old enough to purge.
    place_bulk_orders(&mut bench, f.a.get()).await;
    bench.sql(finish_everything).await;

    let deliveries_before = bench.rows_read("webhook_deliveries").await;
    let attempts_before = bench.rows_read("webhook_attempts").await;
    let purged = webhooks.purge_finished(an_hour_ago(), 100).await.unwrap();
    assert_eq!(purged, 0, "everything finished within the hour");
    bench.report_statistics().await;
    let deliveries = bench.rows_read("webhook_deliveries").await - deliveries_before;
    let attempts = bench.rows_read("webhook_attempts").await - attempts_before;
    assert!(
        deliveries < AT_MOST_READ && attempts < AT_MOST_READ,
        "the purge read {deliveries} deliveries and {attempts} attempts"
    );
}

#[tokio::test]
async fn a_key_purge_reads_only_expired_keys_after_the_table_grew() {
    let f = fixture().await;
    let order: OrderId = f
        .orders
        .insert(new_order(f.a, Duration::hours(1)))
        .await
        .unwrap()
        .id;
    let mut bench = Bench::new(&f).await;
    let keys = |from: u32, to: &str| {
        format!(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id, response, created_at, expires_at)
             SELECT {a}, 'key-' || n, '\\x00'::bytea, {order}, '{{}}'::jsonb, now(), now() + interval '1 day'
             FROM generate_series({from}, {to}) AS n",
            a = f.a.get(),
            order = order.get()
        )
    };
    bench.sql(&keys(1, "3")).await;
    bench.sql("ANALYZE idempotency_keys").await;
    let orders = PgOrderRepository::new(bench.pool.clone());
    for _ in 0..RUNS_ON_A_SMALL_TABLE {
        assert_eq!(
            orders.purge_expired_keys(Utc::now(), 1000).await.unwrap(),
            0
        );
    }
    bench.sql(&keys(4, GROWTH)).await;

    let before = bench.rows_read("idempotency_keys").await;
    let purged = orders.purge_expired_keys(Utc::now(), 1000).await.unwrap();
    assert_eq!(purged, 0, "every key lives for a day");
    bench.report_statistics().await;
    let read = bench.rows_read("idempotency_keys").await - before;
    assert!(
        read < AT_MOST_READ,
        "the purge read {read} keys to find none expired"
    );
}
