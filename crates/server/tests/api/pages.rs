//! The customer page and the admin dashboard in a real headless Chromium, against the
//! real server on this run's store, with every host but 127.0.0.1 unresolvable.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::{Browser, PATIENCE};
use crate::helpers::*;

const XSS: &str = "<img src=x onerror=alert(1)>";

fn origin(app: &TestApp) -> String {
    app.base.trim_end_matches("/api/v1").to_owned()
}

/// Bytes transferred to show a page from an empty cache, and any resource that came from
/// somewhere other than this server.
async fn first_load(browser: &Browser, origin: &str) -> (u64, Vec<String>) {
    let entries = browser
        .eval(
            "return performance.getEntriesByType('navigation')
                .concat(performance.getEntriesByType('resource'))
                .map((e) => [e.name, e.transferSize]);",
        )
        .await;
    let entries: Vec<(String, u64)> = serde_json::from_value(entries).expect("timing entries");
    let weight = entries.iter().map(|(_, size)| size).sum();
    let foreign = entries
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !name.starts_with(origin))
        .collect();
    (weight, foreign)
}

const ROW: &str = "#orders tbody tr";

#[tokio::test]
async fn a_customer_registers_orders_and_sees_the_order_move_without_reloading() {
    let app = spawn_app_with_step(3.0).await;
    let origin = origin(&app);
    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("{origin}/")).await;
    browser.find("#register-form").await;

    let (weight, foreign) = first_load(&browser, &origin).await;
    eprintln!("page weight: customer page, first load, {weight} bytes");
    assert!(foreign.is_empty(), "loaded from elsewhere: {foreign:?}");
    assert!(weight > 0, "the timing API reports transfers");

    browser.fill("#register-name", "Ada Lovelace").await;
    browser.fill("#register-email", "ada@example.com").await;
    browser
        .fill("#register-password", "analytical-engine")
        .await;
    browser.click("#register-form button").await;
    let who = browser.wait_for_text_containing("#who-name", "Ada").await;
    assert_eq!(who, "Signed in as Ada Lovelace");

    browser.fill("#order-item", XSS).await;
    browser.click("#order-form button").await;
    let first = browser.find(ROW).await;
    let id = first
        .attr("data-order-id")
        .await
        .ok()
        .flatten()
        .expect("a row id");
    // Marks this document: a reload would start a new one without the mark.
    browser
        .eval("window.__sameDocument = true; return null;")
        .await;

    let status = format!("{ROW}[data-order-id=\"{id}\"] [data-field=status]");
    assert_eq!(
        browser.wait_for_text(&status, "dispatched").await,
        "dispatched"
    );
    assert_eq!(
        browser.eval("return window.__sameDocument === true;").await,
        json!(true)
    );

    // Customer input is text, never markup.
    let item = format!("{ROW}[data-order-id=\"{id}\"] [data-field=item]");
    assert_eq!(browser.text(&item).await, XSS);
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main img').length;")
            .await,
        json!(0)
    );

    // The history opens on the same page and follows the order live.
    browser
        .click(&format!("{ROW}[data-order-id=\"{id}\"] .actions button"))
        .await;
    assert!(
        browser
            .wait_until("return document.querySelector('#history').open;")
            .await,
        "the history dialog opens"
    );
    let history = browser
        .wait_for_text_containing("#history ol", "in transit")
        .await;
    assert!(
        history.starts_with("placed as created by customer"),
        "{history}"
    );
    assert!(history.contains("dispatched by the system"), "{history}");
    assert_eq!(
        browser.text("#history [data-title]").await,
        format!("Order #{id}: {XSS}")
    );
    browser.screenshot("customer-history").await;
    browser.click("#history [data-close]").await;

    for (listed, item) in [(2, "Espresso machine"), (3, "Mechanical keyboard")] {
        browser.fill("#order-item", item).await;
        browser.click("#order-form button").await;
        let shown = format!("return document.querySelectorAll('{ROW}').length === {listed};");
        assert!(browser.wait_until(&shown).await, "{item} is listed");
    }
    browser.screenshot("customer").await;

    assert_eq!(
        browser.eval("return document.cookie;").await,
        json!(""),
        "no token in a cookie"
    );
    assert_eq!(browser.problems().await, Vec::<String>::new());
    browser.close().await;
}

#[tokio::test]
async fn an_admin_filters_overrides_a_status_and_reads_the_history() {
    let app = spawn_configured(3600.0, |s| s.webhooks.allow_private = true).await;
    let origin = origin(&app);
    let admin = app.admin().await;
    let (grace, grace_id) = app.customer("grace@example.com").await;
    let (mallory, mallory_id) = app.customer("mallory@example.com").await;
    let desk = app.create_order(&grace, "Standing desk").await;
    let hostile = app.create_order(&mallory, XSS).await;
    let lamp = app.create_order(&grace, "Desk lamp").await;
    app.set_status(&admin, desk["id"].as_i64().expect("id"), "in_transit")
        .await;
    app.set_status(&admin, lamp["id"].as_i64().expect("id"), "dispatched")
        .await;

    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("{origin}/admin")).await;
    browser.find("#login-form").await;
    let (weight, foreign) = first_load(&browser, &origin).await;
    eprintln!("page weight: admin dashboard, first load, {weight} bytes");
    assert!(foreign.is_empty(), "loaded from elsewhere: {foreign:?}");

    // A customer is turned away.
    browser.fill("#login-email", "grace@example.com").await;
    browser.fill("#login-password", "password-123").await;
    browser.click("#login-form button").await;
    let refused = browser
        .wait_for_text_containing("#notice", "not an administrator")
        .await;
    assert!(
        refused.starts_with("This account is not an administrator."),
        "{refused}"
    );
    assert_eq!(
        browser.eval("return sessionStorage.length;").await,
        json!(0)
    );

    browser.fill("#login-email", ADMIN_EMAIL).await;
    browser.fill("#login-password", ADMIN_PASSWORD).await;
    browser.click("#login-form button").await;
    browser
        .wait_for_text_containing("#who-name", "Signed in")
        .await;
    assert!(
        browser
            .wait_until("return document.querySelectorAll('#orders tbody tr').length === 3;")
            .await
    );

    // A customer's description reaches the admin as text.
    let hostile_item = format!(
        "{ROW}[data-order-id=\"{}\"] [data-field=item]",
        hostile["id"]
    );
    assert_eq!(browser.text(&hostile_item).await, XSS);
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main img').length;")
            .await,
        json!(0)
    );

    // A new order shows up by itself.
    let chair = app.create_order(&grace, "Office chair").await;
    let chair_row = format!(
        "{ROW}[data-order-id=\"{}\"] [data-field=status]",
        chair["id"]
    );
    assert_eq!(
        browser.wait_for_text(&chair_row, "created").await,
        "created"
    );
    browser.screenshot("admin").await;

    // Filter: in transit only.
    browser.click("#filter-form input[value=in_transit]").await;
    browser.click("#filter-form button[type=submit]").await;
    assert!(
        browser
            .wait_until(&format!(
                "const rows = document.querySelectorAll('{ROW}');
                 return rows.length === 1 && rows[0].dataset.orderId === '{}';",
                desk["id"]
            ))
            .await,
        "only the order in transit is listed"
    );

    // The export downloads every order the filters keep, as the API exports them.
    let downloads =
        std::env::temp_dir().join(format!("trachios-downloads-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&downloads).expect("a download directory");
    browser.download_into(&downloads).await;
    browser.click("#export-orders").await;
    let file = downloads.join("orders.csv");
    assert!(
        eventually(Duration::from_secs(10), || async { file.exists() }).await,
        "orders.csv was downloaded"
    );
    let downloaded = std::fs::read_to_string(&file).expect("the export");
    let _ = std::fs::remove_dir_all(&downloads);
    let res = app
        .request(
            Method::GET,
            "/orders/export.csv?status=in_transit",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(downloaded, res.text().await.expect("the API's export"));
    assert_eq!(downloaded.lines().count(), 2, "{downloaded}");

    // Override to delivered, then read the history.
    let row = format!("{ROW}[data-order-id=\"{}\"]", desk["id"]);
    browser
        .find(&format!("{row} select"))
        .await
        .select_by_value("delivered")
        .await
        .expect("a status is chosen");
    browser.click(&format!("{row} .override button")).await;
    let status = format!("{row} [data-field=status]");
    assert_eq!(
        browser.wait_for_text(&status, "delivered").await,
        "delivered"
    );
    let (_, stored) = app.order(&admin, desk["id"].as_i64().expect("id")).await;
    assert_eq!(stored["status"], "delivered");

    browser.click(&format!("{row} .actions button")).await;
    let history = browser
        .wait_for_text_containing("#history ol", "delivered")
        .await;
    let entries = browser.eval("return Array.from(document.querySelectorAll('#history ol li'), (li) => li.textContent);").await;
    let entries: Vec<String> = serde_json::from_value(entries).expect("entries");
    assert_eq!(entries.len(), 3, "{history}");
    assert!(
        entries[0].starts_with(&format!("placed as created by customer #{grace_id}")),
        "{entries:?}"
    );
    assert!(
        entries[1].starts_with("created → in transit by admin #"),
        "{entries:?}"
    );
    assert!(
        entries[2].starts_with("in transit → delivered by admin #"),
        "{entries:?}"
    );
    browser.click("#history [data-close]").await;

    // Users: promote a customer.
    browser.click("#tab-users").await;
    let grace_role = format!("#users tr[data-user-id=\"{grace_id}\"] [data-field=role]");
    assert_eq!(
        browser.wait_for_text(&grace_role, "customer").await,
        "customer"
    );
    browser
        .click(&format!(
            "#users tr[data-user-id=\"{grace_id}\"] .actions button"
        ))
        .await;
    assert_eq!(browser.wait_for_text(&grace_role, "admin").await, "admin");
    let (_, users) = app
        .call(
            Method::GET,
            "/users?email=grace@example.com",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(users[0]["role"], "admin");

    // ... and disable another, who can no longer log in.
    let mallory_row = format!("#users tr[data-user-id=\"{mallory_id}\"]");
    browser
        .click(&format!("{mallory_row} .actions button.danger"))
        .await;
    browser.accept_confirm().await;
    let account = format!("{mallory_row} [data-field=account]");
    assert_eq!(
        browser.wait_for_text(&account, "disabled").await,
        "disabled"
    );
    let (status, _) = app.login("mallory@example.com", "password-123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Webhooks: add one; its secret is shown once.
    browser.click("#tab-webhooks").await;
    browser
        .fill("#webhook-url", "http://127.0.0.1:9/trachios")
        .await;
    browser.click("#webhook-form button[type=submit]").await;
    assert!(
        browser
            .wait_until("return !document.querySelector('#webhook-secret').hidden;")
            .await
    );
    let shown = browser.text("#webhook-secret [data-secret]").await;
    assert!(shown.len() >= 32, "secret shown: {shown:?}");
    assert_eq!(
        browser
            .wait_for_text("#webhooks tbody td.item", "http://127.0.0.1:9/trachios")
            .await,
        "http://127.0.0.1:9/trachios"
    );
    browser.screenshot("admin-webhooks").await;
    browser.click("#webhooks tbody .actions button").await;
    assert!(
        browser
            .wait_until("return document.querySelector('#deliveries').open;")
            .await
    );
    let empty = "No delivery attempts yet.";
    assert_eq!(
        browser
            .wait_for_text("#deliveries [data-empty]", empty)
            .await,
        empty
    );
    browser.click("#deliveries [data-close]").await;
    browser
        .click("#webhooks tbody .actions button.danger")
        .await;
    browser.accept_confirm().await;
    assert!(
        browser
            .wait_until("return !document.querySelector('#webhooks-empty').hidden;")
            .await
    );
    let (_, hooks) = app.call(Method::GET, "/webhooks", Some(&admin), None).await;
    assert_eq!(hooks, json!([]), "the endpoint is deleted");

    // Grace, now an admin, demotes the one at the browser: the dashboard lets them go.
    let (_, me) = app.call(Method::GET, "/user", Some(&admin), None).await;
    let demote = format!("/users/{}", me["id"]);
    let demoted = eventually(PATIENCE, || async {
        let body = json!({"role": "customer"});
        let (status, _) = app
            .call(Method::PATCH, &demote, Some(&grace), Some(body))
            .await;
        status == StatusCode::OK
    })
    .await;
    assert!(demoted, "the promoted customer may manage users");
    let gone = "This account is no longer an administrator.";
    let deadline = std::time::Instant::now() + PATIENCE;
    while browser.text("#notice").await != gone && std::time::Instant::now() < deadline {
        // Any call will do; a script's click cannot fail on a page that just logged out.
        browser
            .eval("document.querySelector('#tab-users').click(); return null;")
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(browser.text("#notice").await, gone);
    assert!(
        browser
            .wait_until("return !document.querySelector('#signed-out').hidden;")
            .await
    );

    assert_eq!(browser.problems().await, Vec::<String>::new());
    browser.close().await;
}

#[tokio::test]
async fn on_a_phone_by_keyboard_limits_and_ended_sessions_are_explained() {
    // Registering logs in once; two wrong passwords in the page, then the limit.
    let app = spawn_configured(3600.0, |s| s.limits.login_rate_per_minute = 3).await;
    let origin = origin(&app);
    app.customer("phone@example.com").await;

    let browser = Browser::start_phone().await;
    browser.goto(&format!("{origin}/")).await;
    browser.find("#login-form").await;
    assert_eq!(browser.eval("return window.innerWidth;").await, json!(375));
    // Neither the page nor a table scrolls sideways.
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth
        && Array.from(document.querySelectorAll('.scroll')).every((s) => s.scrollWidth <= s.clientWidth);";
    assert_eq!(
        browser.eval(fits).await,
        json!(true),
        "no sideways scrolling at 375 px"
    );

    // Keyboard only: into the email field, then Tab and Enter do the rest.
    for _ in 0..2 {
        browser.focus("#login-email").await;
        browser
            .type_keys("phone@example.com\u{E004}wrong-password\u{E007}")
            .await;
        assert!(
            browser
                .wait_for_text_containing("#notice", "invalid")
                .await
                .contains("invalid"),
            "a wrong password is explained"
        );
        browser
            .eval("document.querySelector('#notice').textContent = ''; return null;")
            .await;
        browser.fill("#login-email", "").await;
        browser.fill("#login-password", "").await;
    }
    browser.focus("#login-email").await;
    browser
        .type_keys("phone@example.com\u{E004}password-123\u{E007}")
        .await;
    let limited = browser
        .wait_for_text_containing("#notice", "Try again in")
        .await;
    assert!(
        limited.starts_with("Too many requests. Try again in "),
        "{limited}"
    );
    assert!(
        limited
            .trim_end_matches(" s.")
            .rsplit(' ')
            .next()
            .is_some_and(|n| n.parse::<u32>().is_ok()),
        "{limited}"
    );

    // Another account is not limited; log in by keyboard.
    app.customer("second@example.com").await;
    browser.fill("#login-email", "").await;
    browser.fill("#login-password", "").await;
    browser.focus("#login-email").await;
    browser
        .type_keys("second@example.com\u{E004}password-123\u{E007}")
        .await;
    browser
        .wait_for_text_containing("#who-name", "Signed in")
        .await;
    browser.fill("#order-item", "A very long description that must wrap on a narrow screen without pushing the page sideways").await;
    browser.click("#order-form button").await;
    browser.find(ROW).await;
    assert_eq!(
        browser.eval(fits).await,
        json!(true),
        "the orders fit at 375 px"
    );
    browser.screenshot("customer-phone").await;

    // Cancel it; the button goes with the order's chance to be cancelled.
    browser
        .click(&format!("{ROW} .actions button.danger"))
        .await;
    browser.accept_confirm().await;
    let status = format!("{ROW} [data-field=status]");
    assert_eq!(
        browser.wait_for_text(&status, "cancelled").await,
        "cancelled"
    );
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('#orders button.danger').length;")
            .await,
        json!(0)
    );

    // The token is revoked elsewhere: the next call returns the page to its login form.
    let token = browser
        .eval("return JSON.parse(sessionStorage.getItem('trachios.customer')).token;")
        .await;
    let token = token
        .as_str()
        .expect("the token is in sessionStorage")
        .to_owned();
    let (status, _) = app.call(Method::POST, "/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    browser.click("#refresh").await;
    let said = browser
        .wait_for_text_containing("#notice", "session has ended")
        .await;
    assert_eq!(said, "Your session has ended. Please log in again.");
    assert!(
        browser
            .wait_until("return !document.querySelector('#signed-out').hidden;")
            .await
    );
    assert_eq!(
        browser
            .eval("return sessionStorage.getItem('trachios.customer');")
            .await,
        json!(null),
        "the ended session is forgotten"
    );
    assert_eq!(browser.problems().await, Vec::<String>::new());
    browser.close().await;
}

#[tokio::test]
async fn the_orders_table_pages_through_the_link_headers() {
    let app = spawn_app().await;
    let origin = origin(&app);
    let (token, _) = app.customer("many@example.com").await;
    let mut ids = Vec::new();
    for n in 1..=25 {
        ids.push(app.create_order(&token, &format!("Item {n}")).await["id"].clone());
    }
    ids.reverse();

    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("{origin}/")).await;
    browser.fill("#login-email", "many@example.com").await;
    browser.fill("#login-password", "password-123").await;
    browser.click("#login-form button").await;
    let listed = |expected: &[serde_json::Value]| {
        let expected: Vec<String> = expected.iter().map(|id| id.to_string()).collect();
        format!(
            "return JSON.stringify(Array.from(document.querySelectorAll('{ROW}'), (r) => r.dataset.orderId)) === {};",
            json!(json!(expected).to_string())
        )
    };
    assert!(
        browser.wait_until(&listed(&ids[..20])).await,
        "the first 20, newest first"
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#newer').disabled;")
            .await,
        json!(true)
    );

    browser.click("#older").await;
    assert!(browser.wait_until(&listed(&ids[20..])).await, "the last 5");
    assert_eq!(
        browser
            .eval("return document.querySelector('#older').disabled;")
            .await,
        json!(true)
    );

    browser.click("#newer").await;
    assert!(
        browser.wait_until(&listed(&ids[..20])).await,
        "back to the first page"
    );
    assert_eq!(browser.problems().await, Vec::<String>::new());
    browser.close().await;
}

#[tokio::test]
async fn an_admin_searches_the_orders_then_cancels_the_selected_ones_at_once() {
    let app = spawn_app().await;
    let origin = origin(&app);
    let admin = app.admin().await;
    let (grace, _) = app.customer("grace@example.com").await;
    let kept = app.create_order(&grace, "Kept lamp").await["id"].clone();
    let delivered = app.create_order(&grace, "Delivered desk").await["id"].clone();
    let open = app.create_order(&grace, "Open chair").await["id"].clone();
    app.set_status(&admin, delivered.as_i64().expect("id"), "delivered")
        .await;

    let browser = Browser::start(1280, 900).await;
    browser.goto(&format!("{origin}/admin")).await;
    browser.fill("#login-email", ADMIN_EMAIL).await;
    browser.fill("#login-password", ADMIN_PASSWORD).await;
    browser.click("#login-form button").await;
    assert!(
        browser
            .wait_until("return document.querySelectorAll('#orders tbody tr').length === 3;")
            .await
    );
    assert_eq!(browser.text("#bulk-count").await, "No orders selected");

    // Search: a piece of one item, then the customer's e-mail.
    let listed = |expected: &[&serde_json::Value]| {
        let expected: Vec<String> = expected.iter().map(|id| id.to_string()).collect();
        format!(
            "return JSON.stringify(Array.from(document.querySelectorAll('{ROW}'), (r) => r.dataset.orderId)) === {};",
            json!(json!(expected).to_string())
        )
    };
    browser.fill("#filter-q", "CHAIR").await;
    browser.click("#filter-form button[type=submit]").await;
    assert!(
        browser.wait_until(&listed(&[&open])).await,
        "only the chair"
    );
    browser.fill("#filter-q", "grace@example.com").await;
    browser.click("#filter-form button[type=submit]").await;
    assert!(
        browser
            .wait_until(&listed(&[&open, &delivered, &kept]))
            .await,
        "every order of grace"
    );

    // All on this page, then one left out.
    browser.click("#select-page").await;
    assert_eq!(browser.text("#bulk-count").await, "3 orders selected");
    browser
        .click(&format!(
            "{ROW}[data-order-id=\"{kept}\"] input[data-select]"
        ))
        .await;
    assert_eq!(browser.text("#bulk-count").await, "2 orders selected");
    assert_eq!(
        browser
            .eval("const all = document.querySelector('#select-page'); return [all.checked, all.indeterminate];")
            .await,
        json!([false, true])
    );

    browser.click("#bulk-apply").await;
    browser.accept_confirm().await;
    assert_eq!(
        browser
            .wait_for_text("#bulk-results [data-summary]", "1 of 2 changed.")
            .await,
        "1 of 2 changed."
    );
    let result = |id: &serde_json::Value| format!("#bulk-results li[data-order-id=\"{id}\"]");
    assert_eq!(
        browser.text(&result(&delivered)).await,
        format!(
            "#{delivered}: not changed — cannot change order status from delivered to cancelled"
        )
    );
    assert_eq!(
        browser.text(&result(&open)).await,
        format!("#{open}: cancelled")
    );
    let status =
        |id: &serde_json::Value| format!("{ROW}[data-order-id=\"{id}\"] [data-field=status]");
    assert_eq!(
        browser.wait_for_text(&status(&open), "cancelled").await,
        "cancelled"
    );
    assert_eq!(browser.text("#bulk-count").await, "No orders selected");
    browser.screenshot("admin-bulk").await;

    for (id, expected) in [
        (&kept, "created"),
        (&delivered, "delivered"),
        (&open, "cancelled"),
    ] {
        let (_, order) = app.order(&admin, id.as_i64().expect("id")).await;
        assert_eq!(order["status"], expected, "order {id}");
    }
    assert_eq!(browser.problems().await, Vec::<String>::new());
    browser.close().await;
}
