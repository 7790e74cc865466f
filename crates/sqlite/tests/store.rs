//! The embedded store: the port contract every store keeps, and what only SQLite needs
//! (the file lock, the feed published after commit, the file surviving a reopen).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use trachios_contract::{customer, new_order, Ports};
use trachios_domain::ports::{ChangeFeed, DependencyProbe, OrderRepository};
use trachios_domain::{DueSteps, EventKind, FeedEvent, FeedScope, OrderStatus};
use trachios_memory::ChangeHub;
use trachios_sqlite::*;
use trachios_test_support::{init_test_logging, ScratchDatabase};

async fn open(file: &ScratchDatabase, hub: Option<&ChangeHub>) -> SqliteStore {
    let publisher = hub.map(|h| Arc::new(h.clone()) as _);
    SqliteStore::open(SqliteSettings::new(file.path()), publisher)
        .await
        .expect("the store opens")
        .0
}

async fn fresh_ports() -> Ports {
    init_test_logging();
    let file = ScratchDatabase::new();
    let store = open(&file, None).await;
    Ports {
        users: Arc::new(SqliteUserRepository::new(store.clone())),
        orders: Arc::new(SqliteOrderRepository::new(store.clone())),
        accounts: Arc::new(SqliteAccountStates::new(store.clone())),
        webhooks: Arc::new(SqliteWebhookRepository::new(store.clone())),
        products: Arc::new(SqliteProductRepository::new(store.clone())),
        keep: Box::new((store, file)),
    }
}

trachios_contract::port_contract!(fresh_ports);

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused_until_the_first_closes() {
    let file = ScratchDatabase::new();
    let (first, applied) = SqliteStore::open(SqliteSettings::new(file.path()), None)
        .await
        .unwrap();
    assert!(!applied.is_empty(), "a new file is migrated");
    let Err(refused) = SqliteStore::open(SqliteSettings::new(file.path()), None).await else {
        panic!("a second store on a locked file opened");
    };
    let message = refused.to_string();
    assert!(
        message.contains("in use by another Trachios process") && message.contains("PostgreSQL"),
        "{message}"
    );
    drop(first);
    let (_again, applied) = SqliteStore::open(SqliteSettings::new(file.path()), None)
        .await
        .expect("the lock goes with the store");
    assert!(applied.is_empty(), "nothing left to migrate");
}

#[tokio::test]
async fn what_was_acknowledged_is_there_after_a_reopen() {
    let file = ScratchDatabase::new();
    let store = open(&file, None).await;
    let users = SqliteUserRepository::new(store.clone());
    let a = customer(&users, "a@x.io").await;
    let placed = SqliteOrderRepository::new(store.clone())
        .insert(new_order(a, chrono::Duration::seconds(60)))
        .await
        .unwrap();
    drop(users);
    drop(store);
    let store = open(&file, None).await;
    let orders = SqliteOrderRepository::new(store.clone());
    assert_eq!(orders.find_by_id(placed.id).await.unwrap(), Some(placed));
    SqliteProbe::new(store).check().await.expect("ready");
}

#[tokio::test]
async fn committed_changes_reach_subscribers_in_commit_order() {
    let file = ScratchDatabase::new();
    let hub = ChangeHub::new();
    let store = open(&file, Some(&hub)).await;
    let users = SqliteUserRepository::new(store.clone());
    let orders = SqliteOrderRepository::new(store.clone());
    let a = customer(&users, "a@x.io").await;
    let mut everything = hub.subscribe(FeedScope::All);
    let mut theirs = hub.subscribe(FeedScope::Customer(a));
    for _ in 0..20 {
        orders
            .insert(new_order(a, chrono::Duration::seconds(-1)))
            .await
            .unwrap();
    }
    let moved = orders
        .advance_due(
            &DueSteps::at(Utc::now(), chrono::Duration::seconds(60)),
            100,
        )
        .await
        .unwrap();
    assert_eq!(moved.len(), 20);
    for subscription in [&mut everything, &mut theirs] {
        let mut seen = Vec::new();
        while let FeedEvent::Changed(change) = subscription.next(Duration::from_millis(200)).await {
            let order = &change.order;
            seen.push((order.id, order.status, order.version, change.kind));
        }
        assert_eq!(seen.len(), 40, "20 creations and 20 steps");
        assert!(seen[..20]
            .iter()
            .all(|(_, s, v, k)| (*s, *v, *k) == (OrderStatus::Created, 1, EventKind::Created)));
        assert!(seen[20..]
            .iter()
            .all(|(_, s, v, k)| (*s, *v, *k)
                == (OrderStatus::Dispatched, 2, EventKind::StatusChanged)));
    }
}

#[tokio::test]
async fn the_cache_epoch_is_this_files_own() {
    let (one, two) = (ScratchDatabase::new(), ScratchDatabase::new());
    let first = cache_epoch(&open(&one, None).await).await.unwrap();
    let second = cache_epoch(&open(&two, None).await).await.unwrap();
    assert_eq!(first.len(), 32);
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_lifecycle_batch_larger_than_one_statement_moves_whole() {
    let file = ScratchDatabase::new();
    let store = open(&file, None).await;
    let a = customer(&SqliteUserRepository::new(store.clone()), "a@x.io").await;
    let now = Utc::now().timestamp_micros();
    store
        .execute_batch(format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
             INSERT INTO orders (customer_id, item_description, status, version, next_step_at, created_at, updated_at)
             SELECT {a}, 'Laptop', 'created', 1, {due}, {now}, {now} FROM n",
            a = a.get(),
            due = now - 1_000_000,
        ))
        .await
        .unwrap();
    let orders = SqliteOrderRepository::new(store.clone());
    let moved = orders
        .advance_due(
            &DueSteps::at(Utc::now(), chrono::Duration::seconds(60)),
            2500,
        )
        .await
        .unwrap();
    assert_eq!(moved.len(), 2500);
    assert!(moved
        .iter()
        .all(|m| (m.order.status, m.order.version) == (OrderStatus::Dispatched, 2)));
    let last = moved.iter().map(|m| m.order.id).max().unwrap();
    assert_eq!(
        orders.history(last).await.unwrap().len(),
        1,
        "only the step: the bulk load wrote no creation event"
    );
}

/// The schema agrees with the domain: every CHECK that lists an enum's names lists the
/// domain's, and an order has no due time exactly in the statuses that do not advance.
#[tokio::test]
async fn the_schemas_checks_list_the_domains_names() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
    use trachios_contract::schema::{
        actors, event_kinds, in_list_after, movement_reasons, order_statuses, roles,
        statuses_without_due_time,
    };

    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }

    let file = ScratchDatabase::new();
    drop(open(&file, None).await);
    let path = file.path().to_string_lossy().into_owned();
    let mut conn = SqliteConnection::establish(&path).expect("the migrated file opens");
    conn.batch_execute("PRAGMA query_only = ON").unwrap();
    let mut table = |name: &str| -> String {
        diesel::sql_query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind::<diesel::sql_types::Text, _>(name)
            .load::<Table>(&mut conn)
            .expect("sqlite_master")
            .pop()
            .unwrap_or_else(|| panic!("no table {name}"))
            .sql
    };
    let orders = table("orders");
    assert_eq!(
        in_list_after(&orders, "status "),
        order_statuses(),
        "{orders}"
    );
    let mut without_due_time = in_list_after(&orders, "CHECK ((");
    let mut domain = statuses_without_due_time();
    without_due_time.sort();
    domain.sort();
    assert_eq!(without_due_time, domain, "{orders}");
    let users = table("users");
    assert_eq!(in_list_after(&users, "role "), roles(), "{users}");
    let events = table("order_events");
    assert_eq!(in_list_after(&events, "actor "), actors(), "{events}");
    assert_eq!(in_list_after(&events, "kind "), event_kinds(), "{events}");
    let movements = table("stock_movements");
    assert_eq!(
        in_list_after(&movements, "reason "),
        movement_reasons(),
        "{movements}"
    );
    assert_eq!(in_list_after(&movements, "actor "), actors(), "{movements}");
}

#[tokio::test]
async fn a_symbolic_link_to_the_file_does_not_let_a_second_store_in() {
    let file = ScratchDatabase::new();
    let (_first, _) = SqliteStore::open(SqliteSettings::new(file.path()), None)
        .await
        .unwrap();
    let link = file.dir().join("another-name.db");
    std::os::unix::fs::symlink(file.path(), &link).expect("a link");
    let Err(refused) = SqliteStore::open(SqliteSettings::new(&link), None).await else {
        panic!("a second store opened the same file through a link");
    };
    assert!(
        refused
            .to_string()
            .contains("in use by another Trachios process"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_damaged_file_is_not_ready_though_it_opens() {
    let file = ScratchDatabase::new();
    let store = open(&file, None).await;
    let users = SqliteUserRepository::new(store.clone());
    let a = customer(&users, "a@x.io").await;
    SqliteOrderRepository::new(store.clone())
        .insert(new_order(a, chrono::Duration::seconds(60)))
        .await
        .unwrap();
    SqliteProbe::new(store.clone())
        .check()
        .await
        .expect("ready");
    drop(users);
    drop(store);
    // Every change is in the file once the last connection closed (WAL checkpointed);
    // then the orders table's root page is overwritten, as a bad disk would.
    let root: i64 = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Root {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            rootpage: i64,
        }
        let mut conn =
            SqliteConnection::establish(&file.path().display().to_string()).expect("opens");
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .expect("checkpoint");
        diesel::sql_query("SELECT rootpage FROM sqlite_schema WHERE name = 'orders'")
            .get_result::<Root>(&mut conn)
            .expect("the orders table")
            .rootpage
    };
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut raw = std::fs::OpenOptions::new()
            .write(true)
            .open(file.path())
            .expect("the file");
        raw.seek(SeekFrom::Start((root as u64 - 1) * 4096))
            .expect("seek");
        raw.write_all(&[0xA5; 4096]).expect("overwritten");
    }
    let store = open(&file, None).await;
    assert!(
        SqliteProbe::new(store).check().await.is_err(),
        "a file whose orders cannot be read is not ready"
    );
}
