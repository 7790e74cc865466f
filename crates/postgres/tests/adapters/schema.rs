//! The PostgreSQL schema agrees with the domain: its enum types hold the domain's names in
//! the domain's order, and an order has no due time exactly in the statuses the lifecycle
//! never moves on from.

use trachios_contract::schema::{
    actors, event_kinds, movement_reasons, order_statuses, quoted, roles, statuses_without_due_time,
};
use trachios_test_support::psql;

use crate::fixture::fresh_pool_and_url;

async fn labels(url: &str, enum_type: &str) -> Vec<String> {
    let listed = psql(
        url,
        &format!("SELECT array_to_string(enum_range(NULL::{enum_type}), ',')"),
    )
    .await;
    listed.trim().split(',').map(str::to_owned).collect()
}

#[tokio::test]
async fn the_enum_types_hold_the_domains_names() {
    let (_pool, url) = fresh_pool_and_url().await;
    assert_eq!(labels(&url, "order_status").await, order_statuses());
    assert_eq!(labels(&url, "user_role").await, roles());
    let mut stored_actors = labels(&url, "order_actor").await;
    let mut domain_actors = actors();
    stored_actors.sort();
    domain_actors.sort();
    assert_eq!(stored_actors, domain_actors);
}

#[tokio::test]
async fn an_order_has_no_due_time_exactly_in_the_statuses_that_do_not_advance() {
    let (_pool, url) = fresh_pool_and_url().await;
    let check = psql(
        &url,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'orders'::regclass AND contype = 'c' \
           AND pg_get_constraintdef(oid) LIKE '%next_step_at%'",
    )
    .await;
    let mut stored = quoted(&check);
    let mut domain = statuses_without_due_time();
    stored.sort();
    domain.sort();
    assert_eq!(stored, domain, "{check}");
}

#[tokio::test]
async fn a_stock_movements_reasons_are_the_domains() {
    let (_pool, url) = fresh_pool_and_url().await;
    let check = psql(
        &url,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'stock_movements'::regclass AND contype = 'c' \
           AND pg_get_constraintdef(oid) LIKE '%reason%'",
    )
    .await;
    assert_eq!(quoted(&check), movement_reasons(), "{check}");
}

#[tokio::test]
async fn an_events_kinds_are_the_domains() {
    let (_pool, url) = fresh_pool_and_url().await;
    let check = psql(
        &url,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conname = 'order_events_kind_check'",
    )
    .await;
    assert_eq!(quoted(&check), event_kinds(), "{check}");
}
