use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trachios_domain::{ActorKind, UserId};

use crate::helpers::*;

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_customer_places_an_order_and_reads_it_back() {
    let app = spawn_app().await;
    let (token, user_id) = app.customer("jo@x.io").await;
    let order = app.create_order(&token, "  MacBook Pro 16-inch M3 ").await;
    assert_eq!(order["status"], "created");
    assert_eq!(order["customer_id"], user_id);
    assert_eq!(order["item_description"], "MacBook Pro 16-inch M3");
    let (status, fetched) = app.order(&token, order["id"].as_i64().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, order);
}

#[tokio::test]
async fn item_descriptions_are_validated() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    for item in [json!("   "), json!("x".repeat(1001))] {
        let (status, body) = app
            .call(
                Method::POST,
                "/orders",
                Some(&token),
                Some(json!({"item_description": item})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().contains("item_description"));
    }
}

#[tokio::test]
async fn only_the_owner_and_admins_see_an_order() {
    let app = spawn_app().await;
    let (owner, _) = app.customer("owner@x.io").await;
    let (other, _) = app.customer("other@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&owner, "Desk").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(app.order(&owner, id).await.0, StatusCode::OK);
    assert_eq!(app.order(&admin, id).await.0, StatusCode::OK);
    let (status, hidden) = app.order(&other, id).await;
    let (_, missing) = app.order(&other, id + 1000).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        hidden, missing,
        "another customer's order looks exactly like a missing one"
    );
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/orders/{id}/cancel"),
            Some(&other),
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(Method::GET, &format!("/orders/{id}"), None, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn my_orders_lists_only_the_callers_orders_newest_first() {
    let app = spawn_app().await;
    let (a, _) = app.customer("a@x.io").await;
    let (b, _) = app.customer("b@x.io").await;
    let first = app.create_order(&a, "One").await["id"].as_i64().unwrap();
    app.create_order(&b, "Theirs").await;
    let second = app.create_order(&a, "Two").await["id"].as_i64().unwrap();
    let (status, list) = app.call(Method::GET, "/my-orders", Some(&a), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&list), vec![second, first]);
    assert_eq!(
        app.call(Method::GET, "/my-orders", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_admins_list_every_order() {
    let app = spawn_app().await;
    let (a, _) = app.customer("a@x.io").await;
    let (b, _) = app.customer("b@x.io").await;
    let first = app.create_order(&a, "One").await["id"].as_i64().unwrap();
    let second = app.create_order(&b, "Two").await["id"].as_i64().unwrap();
    let (status, body) = app.call(Method::GET, "/orders", Some(&a), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"].is_string());
    assert_eq!(
        app.call(Method::GET, "/orders", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, all) = app
        .call(Method::GET, "/orders", Some(&app.admin().await), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&all), vec![second, first]);
}

#[tokio::test]
async fn the_owner_cancels_once_and_only_before_delivery() {
    let app = spawn_app().await;
    let (token, user_id) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/orders/{id}/cancel"),
            Some(&admin),
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, cancelled) = app
        .call(
            Method::PUT,
            &format!("/orders/{id}/cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/orders/{id}/cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("cancelled"));

    let delivered = app.create_order(&token, "Chair").await["id"]
        .as_i64()
        .unwrap();
    app.call(
        Method::PUT,
        &format!("/orders/{delivered}/status"),
        Some(&admin),
        Some(json!({"status": "delivered"})),
    )
    .await;
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/orders/{delivered}/cancel"),
            Some(&token),
            None
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.call(Method::PUT, "/orders/999999/cancel", Some(&token), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let history = app.history(id).await;
    let last = history.last().unwrap();
    assert_eq!(
        (last.to, last.actor, last.actor_id),
        (
            trachios_domain::OrderStatus::Cancelled,
            ActorKind::Customer,
            Some(UserId::parse(user_id).unwrap())
        )
    );
}

#[tokio::test]
async fn admins_override_any_status_and_others_cannot() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&token, "Desk").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/orders/{id}/status");
    assert_eq!(
        app.call(
            Method::PUT,
            &path,
            Some(&token),
            Some(json!({"status": "delivered"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = app
        .call(
            Method::PUT,
            &path,
            Some(&token),
            Some(json!({"status": "shipped"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a customer learns nothing about which values are valid"
    );
    assert_eq!(
        app.call(
            Method::PUT,
            &path,
            None,
            Some(json!({"status": "delivered"}))
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    for bad in [
        json!({"status": "shipped"}),
        json!({"status": 3}),
        json!({}),
    ] {
        let (status, body) = app
            .call(Method::PUT, &path, Some(&admin), Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].as_str().unwrap().contains("status"), "{body}");
    }
    for target in [
        "dispatched",
        "cancelled",
        "in_transit",
        "delivered",
        "created",
    ] {
        let (status, body) = app
            .call(
                Method::PUT,
                &path,
                Some(&admin),
                Some(json!({"status": target})),
            )
            .await;
        assert_eq!(
            (status, body["status"].as_str().unwrap()),
            (StatusCode::OK, target)
        );
    }
    let (status, body) = app
        .call(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({"status": "created"})),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str().unwrap()),
        (StatusCode::OK, "created")
    );
    let history = app.history(id).await;
    assert_eq!(
        history.len(),
        6,
        "creation plus five real changes; the no-op records nothing"
    );
    assert!(history[1..].iter().all(|e| e.actor == ActorKind::Admin));
    assert_eq!(
        app.call(
            Method::PUT,
            "/orders/999999/status",
            Some(&admin),
            Some(json!({"status": "created"}))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn fifty_parallel_clients_get_no_server_errors_and_lose_nothing() {
    let app = spawn_app_with_step(0.2).await;
    let mut tokens = Vec::new();
    for i in 0..5 {
        tokens.push(app.customer(&format!("c{i}@x.io")).await);
    }
    let clients = (0..50).map(|n| {
        let app = &app;
        let (token, _) = &tokens[n % tokens.len()];
        async move {
            let mut created = Vec::new();
            let mut failures = Vec::new();
            for round in 0..6 {
                let order = app
                    .request(
                        Method::POST,
                        "/orders",
                        Some(token),
                        Some(json!({"item_description": format!("item {n}-{round}")})),
                    )
                    .await;
                if order.status() != StatusCode::CREATED {
                    failures.push(order.status());
                    continue;
                }
                let id = order.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                created.push(id);
                for res in [
                    app.request(Method::GET, &format!("/orders/{id}"), Some(token), None)
                        .await,
                    app.request(Method::GET, "/my-orders", Some(token), None)
                        .await,
                ] {
                    if res.status() != StatusCode::OK {
                        failures.push(res.status());
                    }
                }
                if round % 2 == 0 {
                    let res = app
                        .request(
                            Method::PUT,
                            &format!("/orders/{id}/cancel"),
                            Some(token),
                            None,
                        )
                        .await;
                    if !matches!(res.status(), StatusCode::OK | StatusCode::BAD_REQUEST) {
                        failures.push(res.status());
                    }
                }
            }
            (created, failures)
        }
    });
    let results = futures_util::future::join_all(clients).await;
    let failures: Vec<_> = results.iter().flat_map(|(_, f)| f.clone()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let created: usize = results.iter().map(|(c, _)| c.len()).sum();
    assert_eq!(created, 300);
    let (_, all) = app
        .call(
            Method::GET,
            "/orders?limit=1000",
            Some(&app.admin().await),
            None,
        )
        .await;
    assert_eq!(
        all.as_array().unwrap().len(),
        300,
        "every acknowledged order is stored"
    );
}
