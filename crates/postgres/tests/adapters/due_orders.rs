//! The lifecycle's claim of due orders keeps reading them through the due index however the
//! table has grown since its statement was first planned.

use chrono::{Duration, Utc};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use trachios_domain::ports::OrderRepository;
use trachios_domain::DueSteps;
use trachios_postgres::*;

use crate::fixture::{fixture, new_order};

#[derive(diesel::QueryableByName)]
struct SeqRead {
    #[diesel(sql_type = BigInt)]
    seq_tup_read: i64,
}

/// Rows of `orders` read by sequential scans so far, by every session.
async fn orders_read_sequentially(conn: &mut AsyncPgConnection) -> i64 {
    conn.batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .unwrap();
    diesel::sql_query("SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 'orders'")
        .get_result::<SeqRead>(conn)
        .await
        .unwrap()
        .seq_tup_read
}

/// A plan PostgreSQL made for a repeated statement while `orders` held three rows kept a
/// sequential scan and a sort of the whole table on every tick once it held hundreds of
/// thousands (40 ms a tick at 262,000 orders, measured), until autovacuum's next ANALYZE.
/// Here the repository's one connection keeps generic plans from its first tick; a tick
/// after 100,000 orders were added must not read them all.
#[tokio::test]
async fn a_tick_reads_only_due_orders_after_the_table_grew_past_its_first_plans() {
    let f = fixture().await;
    for _ in 0..3 {
        f.orders
            .insert(new_order(f.a, Duration::hours(1)))
            .await
            .unwrap();
    }
    let mut observer = AsyncPgConnection::establish(&f.url).await.unwrap();
    observer.batch_execute("ANALYZE orders").await.unwrap();
    let generic = format!(
        "{}?options=-c%20plan_cache_mode%3Dforce_generic_plan",
        f.url
    );
    let pool = build_pool(
        &generic,
        &PoolSettings {
            max_size: 1,
            ..PoolSettings::default()
        },
    )
    .unwrap();
    let orders = PgOrderRepository::new(pool.clone());
    let step = Duration::seconds(15);
    orders
        .advance_due(&DueSteps::at(Utc::now(), step), 1000)
        .await
        .unwrap();
    observer
        .batch_execute(&format!(
            "INSERT INTO orders (customer_id, item_description, next_step_at)
                 SELECT {a}, 'Bulk ' || n, now() + interval '1 hour'
                 FROM generate_series(1, 100000) AS n",
            a = f.a.get()
        ))
        .await
        .unwrap();

    let before = orders_read_sequentially(&mut observer).await;
    let moved = orders
        .advance_due(&DueSteps::at(Utc::now(), step), 1000)
        .await
        .unwrap();
    assert!(moved.is_empty(), "nothing is due for an hour");
    // The tick's statistics reach the shared view once its session reports them.
    let mut session = pool.get().await.unwrap();
    session
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();
    session.batch_execute("SELECT 1").await.unwrap();
    let read = orders_read_sequentially(&mut observer).await - before;
    assert!(
        read < 1_000,
        "the tick read {read} orders sequentially to find none due"
    );
}
