//! Lists: keyset pages followed through `Link: rel="next"`, filters, and every bad
//! parameter answered with a 400 that names it.

use reqwest::{header, Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|o| o["id"].as_i64().expect("an id"))
        .collect()
}

/// The `rel="next"` target of a response's `Link` header, if it has one.
fn next_link(res: &reqwest::Response) -> Option<String> {
    let link = res.headers().get(header::LINK)?.to_str().ok()?;
    let (target, params) = link.split_once(';')?;
    assert!(params.contains(r#"rel="next""#), "{link}");
    Some(
        target
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
    )
}

impl TestApp {
    /// GET of a path as the server wrote it in a link (an absolute path).
    async fn follow(&self, path: &str, token: &str) -> reqwest::Response {
        let origin = self.base.trim_end_matches("/api/v1");
        self.client
            .get(format!("{origin}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// The ids of every item of a list, following `next` links from `path`; also returns
    /// how many pages it took.
    pub(crate) async fn every_page(&self, path: &str, token: &str) -> (Vec<i64>, usize) {
        let (items, pages) = self.every_item(path, token).await;
        (ids(&Value::Array(items)), pages)
    }

    /// Every item of a list, following `next` links from `path`; also returns how many
    /// pages it took.
    pub(crate) async fn every_item(&self, path: &str, token: &str) -> (Vec<Value>, usize) {
        let mut res = self.request(Method::GET, path, Some(token), None).await;
        let (mut all, mut pages) = (Vec::new(), 0);
        loop {
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let next = next_link(&res);
            let page: Vec<Value> = res.json().await.expect("a JSON array");
            all.extend(page);
            pages += 1;
            match next {
                Some(next) => res = self.follow(&next, token).await,
                None => return (all, pages),
            }
        }
    }
}

#[tokio::test]
async fn following_next_links_yields_every_order_once_newest_first() {
    let app = spawn_app().await;
    let (token, _) = app.customer("jo@x.io").await;
    let mut placed = Vec::new();
    for i in 0..7 {
        placed.push(
            app.create_order(&token, &format!("Item {i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    placed.reverse();

    let first = app
        .request(Method::GET, "/my-orders?limit=3", Some(&token), None)
        .await;
    let next = next_link(&first).expect("a next link after a full page");
    assert!(next.starts_with("/api/v1/my-orders?"), "{next}");
    assert!(
        next.contains("limit=3") && next.contains("cursor="),
        "{next}"
    );
    assert_eq!(ids(&first.json().await.unwrap()), placed[..3]);

    // An order placed while a client pages lands before the first page, never inside a
    // later one: the rest of the walk is unchanged.
    let newer = app.create_order(&token, "Late").await["id"]
        .as_i64()
        .unwrap();
    let second = app.follow(&next, &token).await;
    let third = next_link(&second).expect("a third page");
    assert_eq!(ids(&second.json().await.unwrap()), placed[3..6]);
    let last = app.follow(&third, &token).await;
    assert_eq!(next_link(&last), None, "no next link on the last page");
    assert_eq!(ids(&last.json().await.unwrap()), placed[6..]);

    let (all, pages) = app.every_page("/my-orders?limit=4", &token).await;
    assert_eq!(all[0], newer);
    assert_eq!(all[1..], placed[..]);
    assert_eq!(pages, 2);
    // A page exactly as long as what is left is the last one.
    let (all, pages) = app.every_page("/my-orders?limit=8", &token).await;
    assert_eq!((all.len(), pages), (8, 1));
    let (all, _) = app.every_page("/my-orders", &token).await;
    assert_eq!(all.len(), 8, "the default page holds them all");
}

#[tokio::test]
async fn admins_filter_every_order_by_status_customer_and_creation_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (a, a_id) = app.customer("a@x.io").await;
    let (b, _) = app.customer("b@x.io").await;
    let mut orders = Vec::new();
    for (token, item) in [(&a, "A1"), (&b, "B1"), (&a, "A2"), (&b, "B2"), (&a, "A3")] {
        orders.push(app.create_order(token, item).await);
    }
    let id = |i: usize| orders[i]["id"].as_i64().unwrap();
    for (i, status) in [(0, "delivered"), (1, "cancelled"), (3, "dispatched")] {
        let (code, body) = app
            .call(
                Method::PUT,
                &format!("/orders/{}/status", id(i)),
                Some(&admin),
                Some(serde_json::json!({ "status": status })),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
    let list = |query: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let (code, body) = app.call(Method::GET, query, Some(admin), None).await;
            assert_eq!(code, StatusCode::OK, "{query}: {body}");
            ids(&body)
        }
    };
    assert_eq!(list("/orders").await, [id(4), id(3), id(2), id(1), id(0)]);
    assert_eq!(list("/orders?status=created").await, [id(4), id(2)]);
    assert_eq!(
        list("/orders?status=delivered,cancelled").await,
        [id(1), id(0)]
    );
    assert_eq!(
        list("/orders?status=delivered&status=dispatched").await,
        [id(3), id(0)]
    );
    let of_a = format!("/orders?customer_id={a_id}&status=created");
    let (_, body) = app.call(Method::GET, &of_a, Some(&admin), None).await;
    assert_eq!(ids(&body), [id(4), id(2)]);

    // Times read from responses are exact, exclusive bounds.
    let after = orders[1]["created_at"].as_str().unwrap();
    let before = orders[4]["created_at"].as_str().unwrap();
    let window = format!(
        "/orders?created_after={}&created_before={}",
        urlencode(after),
        urlencode(before)
    );
    let (_, body) = app.call(Method::GET, &window, Some(&admin), None).await;
    assert_eq!(ids(&body), [id(3), id(2)]);

    // On /my-orders the filters apply to the caller's own orders; customer_id is ignored.
    let (_, body) = app
        .call(
            Method::GET,
            "/my-orders?status=created,delivered&customer_id=1",
            Some(&a),
            None,
        )
        .await;
    assert_eq!(ids(&body), [id(4), id(2), id(0)]);
    // Filters travel in the next link.
    let (all, pages) = app
        .every_page("/orders?status=created,delivered&limit=1", &admin)
        .await;
    assert_eq!((all, pages), (vec![id(4), id(2), id(0)], 3));
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[tokio::test]
async fn bad_list_parameters_are_400s_that_name_the_parameter() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, _) = app.customer("jo@x.io").await;
    for _ in 0..3 {
        app.create_order(&token, "Desk").await;
    }
    let first = app
        .request(Method::GET, "/my-orders?limit=1", Some(&token), None)
        .await;
    let next = next_link(&first).expect("next link");
    let cursor = next.split("cursor=").nth(1).unwrap().to_owned();
    let mut altered = cursor.clone().into_bytes();
    altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();

    let cases = [
        ("/my-orders?limit=0".to_owned(), "limit"),
        ("/my-orders?limit=1001".to_owned(), "limit"),
        ("/my-orders?limit=abc".to_owned(), "limit"),
        ("/my-orders?status=shipped".to_owned(), "status"),
        (
            "/my-orders?created_after=yesterday".to_owned(),
            "created_after",
        ),
        (
            "/my-orders?created_before=2026-02-30T00:00:00Z".to_owned(),
            "created_before",
        ),
        (format!("/my-orders?cursor={altered}"), "cursor"),
        ("/my-orders?cursor=made-up".to_owned(), "cursor"),
        ("/orders?customer_id=-3".to_owned(), "customer_id"),
        ("/users?role=root".to_owned(), "role"),
        ("/users?email=not-an-address".to_owned(), "email"),
        // A cursor of one list is not a position in another.
        (format!("/users?cursor={cursor}"), "cursor"),
    ];
    for (path, name) in cases {
        let caller = if path.starts_with("/my-orders") {
            &token
        } else {
            &admin
        };
        let (status, body) = app.call(Method::GET, &path, Some(caller), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(name), "{path}: {message}");
    }
    // The untouched cursor works, and unknown parameters are ignored.
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/my-orders?limit=1&cursor={cursor}&sort=price"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body).len(), 1);
    // A customer learns nothing about admin lists' parameters.
    for path in ["/orders?limit=0", "/users?role=root", "/users"] {
        let (status, _) = app.call(Method::GET, path, Some(&token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn admins_list_users_by_role_and_email_in_pages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, jo) = app.customer("jo@x.io").await;
    let (_, ann) = app.customer("ann@x.io").await;
    let (status, body) = app.call(Method::GET, "/users", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let everyone = ids(&body);
    assert_eq!(everyone.len(), 3);
    assert_eq!(everyone[..2], [ann, jo]);
    assert!(body[0].get("password_hash").is_none());

    let (_, body) = app
        .call(Method::GET, "/users?role=admin", Some(&admin), None)
        .await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["email"], ADMIN_EMAIL);
    let (_, body) = app
        .call(Method::GET, "/users?email=JO@X.IO", Some(&admin), None)
        .await;
    assert_eq!(ids(&body), [jo]);
    let (_, body) = app
        .call(
            Method::GET,
            "/users?role=customer&limit=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ids(&body), [ann]);
    let (all, pages) = app.every_page("/users?role=customer&limit=1", &admin).await;
    assert_eq!((all, pages), (vec![ann, jo], 2));
}

#[tokio::test]
async fn a_cursor_from_one_process_is_good_on_another() {
    if !runs_on_this_store("several processes share one database") {
        return;
    }
    let first = spawn_app().await;
    let second = spawn_on(&first.database_url, 3600.0).await;
    let (token, _) = first.customer("jo@x.io").await;
    for _ in 0..3 {
        first.create_order(&token, "Desk").await;
    }
    let page = first
        .request(Method::GET, "/my-orders?limit=2", Some(&token), None)
        .await;
    let next = next_link(&page).expect("next link");
    let res = second.follow(&next, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(ids(&res.json().await.unwrap()).len(), 1);
}
