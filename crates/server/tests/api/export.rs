//! `GET /orders/export.csv`: the same orders, in the same order, as paging through
//! `GET /orders` with the same filters — as a CSV reader reads them back.

use std::collections::HashMap;

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::order_lines::product;

/// Texts a CSV writer must quote and a spreadsheet must not evaluate.
const AWKWARD: &[&str] = &[
    "Desk, oak",
    "The \"good\" chair",
    "Two\nlines",
    "Carriage\r\nreturn",
    "=HYPERLINK(\"http://x.io\",\"click\")",
    "+1 lamp",
    "-5 cables",
    "@home",
    "Plain lamp",
];
/// Copies of the eleven placed orders: 10,010 rows, forty-one export chunks.
const COPIES: usize = 909;

/// What a row of the export must say for an order as `GET /orders` answered it.
fn expected_row(order: &Value, emails: &HashMap<i64, String>) -> Vec<String> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let guarded = |s: String| {
        if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s
        }
    };
    let lines = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| format!("{}×{}", text(&line["sku"]), line["quantity"]))
        .collect::<Vec<_>>()
        .join(" ");
    let customer = order["customer_id"].as_i64().unwrap();
    vec![
        order["id"].to_string(),
        customer.to_string(),
        emails[&customer].clone(),
        text(&order["status"]),
        guarded(text(&order["item_description"])),
        text(&order["currency"]),
        order["total"]
            .as_i64()
            .map_or(String::new(), |t| t.to_string()),
        lines,
        text(&order["created_at"]),
        text(&order["updated_at"]),
    ]
}

impl TestApp {
    /// Every order of `GET /orders?{query}`, following the pages.
    pub(crate) async fn every_order(&self, admin: &str, query: &str) -> Vec<Value> {
        let (orders, _) = self
            .every_item(&format!("/orders?limit=1000&{query}"), admin)
            .await;
        let ids: Vec<i64> = orders.iter().map(|o| o["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "pages descend");
        orders
    }

    /// The export's rows as a CSV reader reads them, after checking the answer's headers
    /// and header row.
    pub(crate) async fn export(&self, admin: &str, query: &str) -> Vec<Vec<String>> {
        let res = self
            .request(
                Method::GET,
                &format!("/orders/export.csv?{query}"),
                Some(admin),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let header_of = |name| {
            res.headers()
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            header_of(header::CONTENT_TYPE).as_deref(),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            header_of(header::CONTENT_DISPOSITION).as_deref(),
            Some("attachment; filename=\"orders.csv\"")
        );
        let body = res.bytes().await.unwrap();
        assert!(body.ends_with(b"\r\n"), "RFC 4180 lines end in CRLF");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(body.as_ref());
        let mut rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>());
        assert_eq!(
            rows.next().unwrap(),
            [
                "id",
                "customer_id",
                "customer_email",
                "status",
                "item_description",
                "currency",
                "total",
                "lines",
                "created_at",
                "updated_at"
            ]
        );
        rows.collect()
    }
}

#[tokio::test]
async fn the_export_is_what_paging_through_the_list_returns_row_for_row() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut emails = HashMap::new();
    let mut customers = Vec::new();
    for email in ["ann@x.io", "bo@x.io"] {
        let (token, id) = app.customer(email).await;
        emails.insert(id, email.to_owned());
        customers.push((token, id));
    }
    let mug = product(&app, &admin, "MUG-1", 1250, 1_000_000).await;
    let lamp = product(&app, &admin, "LAMP-2", 4999, 1_000_000).await;
    for (i, item) in AWKWARD.iter().enumerate() {
        app.create_order(&customers[i % 2].0, item).await;
    }
    let (code, with_lines) = app
        .call(
            Method::POST,
            "/orders",
            Some(&customers[0].0),
            Some(json!({"lines": [
                {"product_id": mug, "quantity": 2},
                {"product_id": lamp, "quantity": 1},
            ]})),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{with_lines}");
    let cancelled = app.create_order(&customers[1].0, "Gone").await;
    app.cancel(&customers[1].0, cancelled["id"].as_i64().unwrap())
        .await;
    // Copies behind the service's back: the export and the list read the same table.
    app.sql_behind_the_service(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {COPIES})
         INSERT INTO orders (customer_id, item_description, status, version, next_step_at,
                             created_at, updated_at, lines, currency, total, shipping_address, note)
         SELECT customer_id, item_description, status, version, next_step_at, created_at,
                updated_at, lines, currency, total, shipping_address, note
         FROM orders CROSS JOIN n"
    ))
    .await;

    let listed = app.every_order(&admin, "").await;
    assert_eq!(listed.len(), 10_010);
    let exported = app.export(&admin, "").await;
    assert_eq!(exported.len(), listed.len());
    for (row, order) in exported.iter().zip(&listed) {
        assert_eq!(*row, expected_row(order, &emails));
    }
    // What a reader gets back for the awkward texts, said literally.
    let descriptions: Vec<&str> = exported.iter().map(|r| r[4].as_str()).collect();
    for expected in [
        "Desk, oak",
        "The \"good\" chair",
        "Two\nlines",
        "Carriage\r\nreturn",
        "'=HYPERLINK(\"http://x.io\",\"click\")",
        "'+1 lamp",
        "'-5 cables",
        "'@home",
    ] {
        assert!(descriptions.contains(&expected), "{expected:?}");
    }
    let line_id = with_lines["id"].to_string();
    let line_row = exported.iter().find(|r| r[0] == line_id).unwrap();
    assert_eq!(
        line_row[5..8],
        ["EUR", "7499", "MUG-1×2 LAMP-2×1"].map(str::to_owned)
    );

    // The filters are the list's.
    let (_, bo) = &customers[1];
    for query in [
        format!("status=cancelled&customer_id={bo}"),
        "status=created,delivered".to_owned(),
        format!(
            "created_after={}",
            listed[listed.len() / 2]["created_at"]
                .as_str()
                .unwrap()
                .replace('+', "%2B")
        ),
    ] {
        let listed = app.every_order(&admin, &query).await;
        let exported = app.export(&admin, &query).await;
        assert_eq!(exported.len(), listed.len(), "{query}");
        for (row, order) in exported.iter().zip(&listed) {
            assert_eq!(*row, expected_row(order, &emails), "{query}");
        }
    }
    // Nothing kept: the header row alone.
    assert!(app
        .export(&admin, &format!("customer_id={}", bo + 1000))
        .await
        .is_empty());
}

#[tokio::test]
async fn only_admins_export_and_a_bad_filter_is_a_400_naming_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (customer, _) = app.customer("jo@x.io").await;
    app.create_order(&customer, "Desk").await;
    let (code, _) = app
        .call(Method::GET, "/orders/export.csv", Some(&customer), None)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    // A customer learns nothing about the parameters.
    let (code, _) = app
        .call(
            Method::GET,
            "/orders/export.csv?status=bogus",
            Some(&customer),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = app
        .call(Method::GET, "/orders/export.csv", None, None)
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    for (query, names) in [
        ("status=bogus", "status"),
        ("created_after=yesterday", "created_after"),
        ("customer_id=0", "customer_id"),
    ] {
        let (code, body) = app
            .call(
                Method::GET,
                &format!("/orders/export.csv?{query}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            body["error"].as_str().unwrap().contains(names),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn exports_past_the_limit_wait_their_turn_and_a_client_that_leaves_gives_its_slot_back() {
    let app = spawn_configured(3600.0, |s| {
        s.limits.exports_at_once = 1;
        // 6,000 orders take twelve seconds: an export is under way all along, and one whose
        // slot came back only at its end would come back too late.
        s.limits.export_rows_per_second = 500;
    })
    .await;
    let admin = app.admin().await;
    let (customer, _) = app.customer("jo@x.io").await;
    for item in ["Desk", "Lamp", "Chair"] {
        app.create_order(&customer, item).await;
    }
    app.sql_behind_the_service(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)
         INSERT INTO orders (customer_id, item_description, status, version, next_step_at,
                             created_at, updated_at, lines)
         SELECT customer_id, item_description, status, version, next_step_at, created_at,
                updated_at, lines
         FROM orders CROSS JOIN n",
    )
    .await;
    let mut first = app
        .request(Method::GET, "/orders/export.csv", Some(&admin), None)
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(
        first.chunk().await.unwrap().is_some(),
        "the export is under way"
    );

    let second = app
        .request(Method::GET, "/orders/export.csv", Some(&admin), None)
        .await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        second
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned())
            .as_deref(),
        Some("10")
    );

    // The first client goes away long before its export would end.
    drop(first);
    let freed = eventually(std::time::Duration::from_secs(6), || async {
        app.request(
            Method::GET,
            "/orders/export.csv?status=cancelled",
            Some(&admin),
            None,
        )
        .await
        .status()
            == StatusCode::OK
    })
    .await;
    assert!(freed, "the slot came back once the client left");
}
