//! The cached first page of `GET /my-orders` in the running service: every acknowledged
//! change of one of the customer's orders shows on the next read, with each cache the
//! run's store offers, while readers hammer, and across processes sharing the database.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use trachios_test_support::PrivateRedis;

use crate::cache::walk_statuses_while_readers_hammer;
use crate::helpers::*;

/// Servers with each list cache this run's store offers, on fresh databases: Redis on
/// every store, and on the embedded store its in-process cache too.
async fn cached_apps(redis: &PrivateRedis, step_seconds: f64) -> Vec<(&'static str, TestApp)> {
    let mut apps = vec![(
        "redis",
        spawn_configured(step_seconds, |settings| {
            settings.cache.enabled = true;
            settings.cache.redis_url = Some(redis.url().into());
        })
        .await,
    )];
    if test_store() == TestStore::Sqlite {
        let in_process = spawn_configured(step_seconds, |settings| {
            settings.cache.enabled = true;
        })
        .await;
        apps.push(("in-process", in_process));
    }
    apps
}

/// The caller's first page as (id, status) pairs.
async fn my_orders(app: &TestApp, token: &str, query: &str) -> Vec<(i64, String)> {
    let (code, body) = app
        .call(
            Method::GET,
            &format!("/my-orders{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body.as_array()
        .expect("a JSON array")
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().expect("an id"),
                o["status"].as_str().expect("a status").to_owned(),
            )
        })
        .collect()
}

fn with_status(ids: &[i64], status: &str) -> Vec<(i64, String)> {
    ids.iter().map(|&id| (id, status.to_owned())).collect()
}

/// The description of order `id` on the caller's first page.
async fn description_on_first_page(app: &TestApp, token: &str, id: i64) -> String {
    let (_, page) = app.call(Method::GET, "/my-orders", Some(token), None).await;
    page.as_array()
        .and_then(|orders| orders.iter().find(|o| o["id"] == id))
        .and_then(|o| o["item_description"].as_str())
        .unwrap_or_else(|| panic!("order {id} is on the first page: {page}"))
        .to_owned()
}

/// Shows that the caller's first page is served from the cache: order `id`'s description,
/// changed in the store behind the service's back, does not show on the next read (the
/// next change made through the service renders the page from the store again).
async fn first_page_comes_from_the_cache(app: &TestApp, token: &str, id: i64, cache: &str) {
    let kept = description_on_first_page(app, token, id).await;
    description_on_first_page(app, token, id).await;
    app.sql_behind_the_service(&format!(
        "UPDATE orders SET item_description = 'changed behind the service' WHERE id = {id}"
    ))
    .await;
    assert_eq!(
        description_on_first_page(app, token, id).await,
        kept,
        "{cache}: the first page was read from the cache, not the store"
    );
}

async fn place(app: &TestApp, token: &str, item: &str) -> i64 {
    app.create_order(token, item).await["id"]
        .as_i64()
        .expect("an id")
}

#[tokio::test]
async fn each_acknowledged_change_shows_on_the_next_read_of_a_cached_list() {
    let redis = PrivateRedis::start().await;
    for (cache, app) in cached_apps(&redis, 3600.0).await {
        let (token, _) = app.customer("jo@x.io").await;
        let admin = app.admin().await;
        let (a, b, c) = (
            place(&app, &token, "A").await,
            place(&app, &token, "B").await,
            place(&app, &token, "C").await,
        );
        for _ in 0..2 {
            assert_eq!(
                my_orders(&app, &token, "").await,
                with_status(&[c, b, a], "created"),
                "{cache}"
            );
        }
        first_page_comes_from_the_cache(&app, &token, a, cache).await;
        let d = place(&app, &token, "D").await;
        assert_eq!(
            my_orders(&app, &token, "").await,
            with_status(&[d, c, b, a], "created"),
            "{cache}: a new order"
        );
        app.cancel(&token, b).await;
        app.set_status(&admin, c, "in_transit").await;
        let expected = vec![
            (d, "created".to_owned()),
            (c, "in_transit".to_owned()),
            (b, "cancelled".to_owned()),
            (a, "created".to_owned()),
        ];
        assert_eq!(
            my_orders(&app, &token, "").await,
            expected,
            "{cache}: a cancel and an override"
        );
        for _ in 0..2 {
            assert_eq!(
                app.every_page("/my-orders?limit=3", &token).await,
                (vec![d, c, b, a], 2),
                "{cache}: a cached first page links to the next one"
            );
        }
        assert_eq!(
            my_orders(&app, &token, "?status=cancelled").await,
            with_status(&[b], "cancelled"),
            "{cache}: filters are applied"
        );
        let (other, _) = app.customer("al@x.io").await;
        assert_eq!(my_orders(&app, &other, "").await, vec![], "{cache}");
        assert_eq!(
            my_orders(&app, &token, "").await,
            expected,
            "{cache}: another customer's page is their own"
        );
    }
    let pages = redis.cli(&["--scan", "--pattern", "orders-page:*"]).await;
    assert_eq!(
        pages.lines().count(),
        2,
        "both customers' first pages were kept in Redis: {pages}"
    );
}

#[tokio::test]
async fn a_cached_list_never_shows_a_status_older_than_the_last_acknowledged_change() {
    let redis = PrivateRedis::start().await;
    for (cache, app) in cached_apps(&redis, 3600.0).await {
        walk_statuses_while_readers_hammer(
            &app,
            |_| "/my-orders".to_owned(),
            |list, id| {
                list.as_array()
                    .and_then(|orders| orders.iter().find(|o| o["id"] == id))
                    .cloned()
                    .unwrap_or(Value::Null)
            },
        )
        .await;
        // The readers hammered the cache, not the store.
        let (token, _) = app.customer("proof@x.io").await;
        let id = place(&app, &token, "Proof").await;
        first_page_comes_from_the_cache(&app, &token, id, cache).await;
    }
}

#[tokio::test]
async fn automatic_steps_reach_a_cached_list() {
    let redis = PrivateRedis::start().await;
    for (cache, app) in cached_apps(&redis, 0.3).await {
        // The cache serves lists while the lifecycle runs: shown on an order that no longer
        // moves, since every step renders its customer's page anew.
        let (still, _) = app.customer("still@x.io").await;
        let cancelled = place(&app, &still, "Stays").await;
        app.cancel(&still, cancelled).await;
        first_page_comes_from_the_cache(&app, &still, cancelled, cache).await;
        let (token, _) = app.customer("jo@x.io").await;
        let id = place(&app, &token, "Desk").await;
        my_orders(&app, &token, "").await;
        let delivered = eventually(Duration::from_secs(15), || async {
            my_orders(&app, &token, "").await == with_status(&[id], "delivered")
        })
        .await;
        assert!(delivered, "{cache}: the list followed the lifecycle");
    }
}

#[tokio::test]
async fn a_change_made_by_another_process_shows_on_the_next_read() {
    if !runs_on_this_store("two servers share one database") {
        return;
    }
    let redis = PrivateRedis::start().await;
    let database_url = fresh_database().await;
    let mut settings = settings(&database_url, 3600.0);
    settings.cache.enabled = true;
    settings.cache.redis_url = Some(redis.url().into());
    let (reader, writer) = (
        spawn_with(settings.clone()).await,
        spawn_with(settings).await,
    );
    let (token, _) = writer.customer("jo@x.io").await;
    let first = place(&writer, &token, "Desk").await;
    for _ in 0..2 {
        assert_eq!(
            my_orders(&reader, &token, "").await,
            with_status(&[first], "created")
        );
    }
    first_page_comes_from_the_cache(&reader, &token, first, "redis").await;
    writer.cancel(&token, first).await;
    assert_eq!(
        my_orders(&reader, &token, "").await,
        with_status(&[first], "cancelled")
    );
    let second = place(&writer, &token, "Chair").await;
    assert_eq!(
        my_orders(&reader, &token, "").await,
        vec![
            (second, "created".to_owned()),
            (first, "cancelled".to_owned())
        ]
    );
}
