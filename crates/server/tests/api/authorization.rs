//! Every endpoint for every kind of caller: nobody, the owner, another customer, an admin.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn every_endpoint_answers_each_kind_of_caller_as_the_contract_says() {
    let app = spawn_app().await;
    let (owner, _) = app.customer("owner@x.io").await;
    let (other, _) = app.customer("other@x.io").await;
    let admin = app.admin().await;
    let id = app.create_order(&owner, "Desk").await["id"]
        .as_i64()
        .unwrap();

    let order = format!("/orders/{id}");
    let status = format!("/orders/{id}/status");
    let cancel = format!("/orders/{id}/cancel");
    let item = json!({"item_description": "Lamp"});
    let dispatched = json!({"status": "dispatched"});
    use StatusCode as S;
    // (method, path, body, [nobody, owner, other customer, admin]); the owner's cancel
    // comes last because it ends the order.
    let table: Vec<(Method, &str, Option<Value>, [StatusCode; 4])> = vec![
        (
            Method::GET,
            "/user",
            None,
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        (
            Method::POST,
            "/orders",
            Some(item),
            [S::UNAUTHORIZED, S::CREATED, S::CREATED, S::CREATED],
        ),
        (
            Method::GET,
            "/my-orders",
            None,
            [S::UNAUTHORIZED, S::OK, S::OK, S::OK],
        ),
        (
            Method::GET,
            &order,
            None,
            [S::UNAUTHORIZED, S::OK, S::NOT_FOUND, S::OK],
        ),
        (
            Method::GET,
            "/orders",
            None,
            [S::UNAUTHORIZED, S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
        (
            Method::PUT,
            &status,
            Some(dispatched),
            [S::UNAUTHORIZED, S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
        (
            Method::PUT,
            &cancel,
            None,
            [S::UNAUTHORIZED, S::OK, S::NOT_FOUND, S::FORBIDDEN],
        ),
    ];
    for (method, path, body, expected) in table {
        let callers = [
            (None, expected[0]),
            (Some(&other), expected[2]),
            (Some(&admin), expected[3]),
            (Some(&owner), expected[1]),
        ];
        for (token, want) in callers {
            let (got, answer) = app
                .call(
                    method.clone(),
                    path,
                    token.map(String::as_str),
                    body.clone(),
                )
                .await;
            let who = match token {
                None => "nobody",
                Some(t) if t == &owner => "owner",
                Some(t) if t == &other => "other customer",
                Some(_) => "admin",
            };
            assert_eq!(got, want, "{method} {path} as {who}: {answer}");
            if !got.is_success() {
                assert!(
                    answer["error"].is_string(),
                    "{method} {path} as {who}: {answer}"
                );
            }
        }
    }
}
