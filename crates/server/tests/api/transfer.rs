//! Outgrowing the embedded store: its data copied into PostgreSQL is served the same.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_copied_store_serves_the_same_accounts_orders_and_history_on_postgresql() {
    if !runs_on_this_store("copies the embedded store into PostgreSQL; it needs both and runs once, in the PostgreSQL pass") {
        return;
    }
    let scratch = ScratchDatabase::new();
    let sqlite_url = format!("sqlite://{}", scratch.path().display());
    let (before, stop, running) = spawn_stoppable(&sqlite_url).await;
    let admin = before.admin().await;
    let (jo, jo_id) = before.customer("jo@x.io").await;
    let (ann, _) = before.customer("ann@x.io").await;
    let mut ids = Vec::new();
    for item in ["Desk", "Chair", "Lamp"] {
        ids.push(before.create_order(&jo, item).await["id"].as_i64().unwrap());
    }
    before.cancel(&jo, ids[0]).await;
    before.set_status(&admin, ids[1], "delivered").await;
    let (status, _) = before.call(Method::POST, "/logout", Some(&ann), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, jo_orders) = before
        .call(Method::GET, "/my-orders", Some(&jo), None)
        .await;
    let mut histories = Vec::new();
    for id in &ids {
        let (_, history) = before
            .call(
                Method::GET,
                &format!("/orders/{id}/history"),
                Some(&jo),
                None,
            )
            .await;
        histories.push(history);
    }
    stop_and_wait(stop, running).await;

    let postgres_url = fresh_database().await;
    // The stopped server's last handles on the file go a moment after it returns.
    let mut copied = None;
    for _ in 0..100 {
        match trachios_server::transfer::copy_to_postgres(&scratch.path(), &postgres_url).await {
            Ok(counts) => {
                copied = Some(counts);
                break;
            }
            Err(err) if format!("{err:#}").contains("in use") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("copy failed: {err:#}"),
        }
    }
    let copied = copied.expect("the file was released");
    assert_eq!(
        (copied.users, copied.orders, copied.revoked_tokens),
        (3, 3, 1),
        "{copied:?}"
    );
    assert_eq!(
        copied.events, 5,
        "three creations, a cancel and an override"
    );

    let after = spawn_on(&postgres_url, 3600.0).await;
    let (_, mine) = after.call(Method::GET, "/my-orders", Some(&jo), None).await;
    assert_eq!(mine, jo_orders, "the same token reads the same orders");
    for (id, history) in ids.iter().zip(&histories) {
        let (_, copied) = after
            .call(
                Method::GET,
                &format!("/orders/{id}/history"),
                Some(&jo),
                None,
            )
            .await;
        assert_eq!(&copied, history, "order {id}");
    }
    let (status, _) = after
        .call(Method::GET, "/my-orders", Some(&ann), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a logged-out token stays out"
    );
    let (status, body) = after.login("jo@x.io", "password-123").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the password hash came along: {body}"
    );
    let next = after.create_order(&jo, "Shelf").await;
    assert_eq!(
        next["id"],
        json!(ids[2] + 1),
        "ids continue after the copied ones"
    );
    assert_eq!(next["customer_id"], json!(jo_id));
    let (status, body): (StatusCode, Value) =
        after.register("Jo again", "jo@x.io", "password-123").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let again = trachios_server::transfer::copy_to_postgres(&scratch.path(), &postgres_url)
        .await
        .expect_err("a database with data is refused");
    assert!(format!("{again:#}").contains("already holds"), "{again:#}");
}

#[tokio::test]
async fn the_catalog_its_ledger_and_orders_with_lines_are_copied_and_go_on_from_there() {
    if !runs_on_this_store("copies the embedded store into PostgreSQL; it needs both and runs once, in the PostgreSQL pass") {
        return;
    }
    let scratch = ScratchDatabase::new();
    let sqlite_url = format!("sqlite://{}", scratch.path().display());
    let (before, stop, running) = spawn_stoppable(&sqlite_url).await;
    let admin = before.admin().await;
    let (jo, _) = before.customer("jo@x.io").await;
    let (status, mug) = before
        .call(
            Method::POST,
            "/products",
            Some(&admin),
            Some(json!({"sku": "MUG-01", "name": "Enamel mug", "price": 1250, "stock": 4})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mug}");
    let mug = mug["id"].as_i64().expect("id");
    let (status, order) = before
        .call(
            Method::POST,
            "/orders",
            Some(&jo),
            Some(
                json!({"lines": [{"product_id": mug, "quantity": 3}], "note": "gift",
                        "shipping_address": {"name": "Jo", "line1": "1 Main St", "city": "Leeds",
                                             "postal_code": "LS1 1AA", "country": "GB"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_i64().expect("id");
    let (status, order) = before
        .call(
            Method::PATCH,
            &format!("/orders/{id}"),
            Some(&jo),
            Some(json!({"note": "gift, wrapped"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let history = before.history(id).await;
    let ledger_path = format!("/products/{mug}/stock-movements");
    let (_, ledger) = before
        .call(Method::GET, &ledger_path, Some(&admin), None)
        .await;
    stop_and_wait(stop, running).await;

    let postgres_url = fresh_database().await;
    let mut copied = None;
    for _ in 0..100 {
        match trachios_server::transfer::copy_to_postgres(&scratch.path(), &postgres_url).await {
            Ok(counts) => {
                copied = Some(counts);
                break;
            }
            Err(err) if format!("{err:#}").contains("in use") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("copy failed: {err:#}"),
        }
    }
    let copied = copied.expect("the file came free");
    assert_eq!((copied.products, copied.movements), (1, 2));

    let after = spawn_on(&postgres_url, 3600.0).await;
    let (_, read) = after.order(&jo, id).await;
    assert_eq!(read, order, "the order with its lines, address and note");
    assert_eq!(
        after.history(id).await,
        history,
        "its history, the edit's kind included"
    );
    assert_eq!(
        after
            .sql_value_behind_the_service(
                "SELECT replaced->>'note' FROM order_events WHERE kind = 'edited'"
            )
            .await,
        "gift",
        "what the edit replaced, for the deliveries of earlier events"
    );
    let admin = after.admin().await;
    let (_, copied_ledger) = after
        .call(Method::GET, &ledger_path, Some(&admin), None)
        .await;
    assert_eq!(copied_ledger, ledger, "the ledger as it was");
    // It goes on from there: new ids follow the copied ones, the stock holds.
    let (status, body) = after
        .call(
            Method::POST,
            "/orders",
            Some(&jo),
            Some(json!({"lines": [{"sku": "MUG-01", "quantity": 2}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "1 left: {body}");
    let (status, next) = after
        .call(
            Method::POST,
            "/orders",
            Some(&jo),
            Some(json!({"lines": [{"sku": "MUG-01", "quantity": 1}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{next}");
    assert!(next["id"].as_i64() > Some(id));
}
