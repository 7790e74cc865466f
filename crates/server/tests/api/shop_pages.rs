//! The catalog in the pages, in a real headless Chromium against the real server: a
//! customer searches, fills a basket, places it with an address and edits it; an admin adds
//! a product, adjusts its stock and reads its ledger — on a desktop window and on a phone.

use serde_json::json;

use crate::browser::Browser;
use crate::helpers::*;
use crate::order_lines::{product, stock};

fn origin(app: &TestApp) -> String {
    app.base.trim_end_matches("/api/v1").to_owned()
}

/// Neither the page nor a table scrolls sideways.
const FITS: &str = "return document.documentElement.scrollWidth <= window.innerWidth
    && Array.from(document.querySelectorAll('.scroll')).every((s) => s.scrollWidth <= s.clientWidth);";

async fn log_in(browser: &Browser, email: &str, password: &str) {
    browser.find("#login-form").await;
    browser.fill("#login-email", email).await;
    browser.fill("#login-password", password).await;
    browser.click("#login-form button").await;
    browser
        .wait_for_text_containing("#who-name", "Signed in")
        .await;
}

async fn set_select(browser: &Browser, css: &str, value: &str) {
    let script = format!(
        "const s = document.querySelector({}); s.value = {}; s.dispatchEvent(new Event('change')); return s.value;",
        json!(css),
        json!(value)
    );
    assert_eq!(
        browser.eval(&script).await,
        json!(value),
        "{css} offers {value}"
    );
}

/// `screenshot`: the name the basket's picture is saved under, for the run that takes it.
async fn shop_place_and_edit(
    browser: Browser,
    app: &TestApp,
    (mug, lamp): (i64, i64),
    screenshot: Option<&str>,
) {
    browser.goto(&format!("{}/", origin(app))).await;
    log_in(&browser, "ada@example.com", "password-123").await;

    // A search narrows the shop; prices are the reader's way of writing euros.
    let card = |sku: &str| format!("#products li[data-sku=\"{sku}\"]");
    browser.find(&card("LAMP-7")).await;
    browser.fill("#search-q", "mug").await;
    browser.click("#search-form button").await;
    assert!(
        browser
            .wait_until("return document.querySelectorAll('#products li').length === 1;")
            .await,
        "only the mug matches"
    );
    assert_eq!(
        browser.text(&format!("{} .price", card("MUG-01"))).await,
        "€12.50"
    );
    browser
        .fill(&format!("{} input", card("MUG-01")), "2")
        .await;
    browser.click(&format!("{} button", card("MUG-01"))).await;
    assert_eq!(
        browser.wait_for_text("#basket-total", "€25.00").await,
        "€25.00"
    );

    browser.fill("#search-q", "").await;
    browser.click("#search-form button").await;
    browser.click(&format!("{} button", card("LAMP-7"))).await;
    assert_eq!(
        browser.wait_for_text("#basket-total", "€74.99").await,
        "€74.99"
    );

    browser.fill("#basket-address-name", "Ada Lovelace").await;
    browser
        .fill("#basket-address-line1", "12 St James's Square")
        .await;
    browser.fill("#basket-address-city", "London").await;
    browser
        .fill("#basket-address-postal_code", "SW1Y 4JH")
        .await;
    set_select(&browser, "#basket-address-country", "GB").await;
    browser
        .fill("#basket-note", "Leave it with the porter")
        .await;
    assert_eq!(browser.eval(FITS).await, json!(true), "the basket fits");
    if let Some(name) = screenshot {
        browser.screenshot(name).await;
    }
    browser.click("#place-basket").await;

    let row = "#orders tbody tr";
    let placed = browser.find(row).await;
    let id = placed
        .attr("data-order-id")
        .await
        .ok()
        .flatten()
        .expect("a row id");
    let cell = |field: &str| format!("{row}[data-order-id=\"{id}\"] td[data-label=\"{field}\"]");
    assert_eq!(
        browser.wait_for_text(&cell("Total"), "€74.99").await,
        "€74.99"
    );
    assert_eq!(
        browser.text(&cell("Item")).await,
        "2 × MUG-01 name, 1 × LAMP-7 name"
    );
    assert!(
        browser
            .wait_until("return document.querySelector('#basket-empty').hidden === false;")
            .await,
        "the basket is emptied"
    );
    assert_eq!(
        browser
            .wait_for_text(&format!("{} button", card("LAMP-7")), "Sold out")
            .await,
        "Sold out",
        "the shop shows the stock the order took"
    );
    assert_eq!((stock(app, mug).await, stock(app, lamp).await), (3, 0));

    // While created, the order is edited: one more mug, no lamp.
    browser
        .click(&format!(
            "{row}[data-order-id=\"{id}\"] .actions button:nth-child(2)"
        ))
        .await;
    assert!(
        browser
            .wait_until("return document.querySelector('#edit').open;")
            .await,
        "the edit dialog opens"
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#edit-address-country').value;")
            .await,
        json!("GB"),
        "the address is the order's"
    );
    browser.fill("#edit tbody tr:nth-child(1) input", "3").await;
    browser.click("#edit tbody tr:nth-child(2) button").await;
    browser.fill("#edit-note", "").await;
    assert_eq!(browser.eval(FITS).await, json!(true), "the dialog fits");
    browser.click("#edit-form button[type=submit]").await;
    assert_eq!(
        browser.wait_for_text(&cell("Total"), "€37.50").await,
        "€37.50"
    );
    assert!(
        browser
            .wait_until("return !document.querySelector('#edit').open;")
            .await,
        "the dialog closes"
    );
    assert_eq!((stock(app, mug).await, stock(app, lamp).await), (2, 1));

    // The history says what happened.
    browser
        .click(&format!("{row}[data-order-id=\"{id}\"] .actions button"))
        .await;
    let history = browser
        .wait_for_text_containing("#history ol", "changed while")
        .await;
    assert!(
        history.contains("changed while created by customer"),
        "{history}"
    );
    browser.click("#history [data-close]").await;
    assert_eq!(browser.problems().await, Vec::<String>::new());
    browser.close().await;
}

async fn shop(app: &TestApp) -> (i64, i64) {
    let admin = app.admin().await;
    app.customer("ada@example.com").await;
    let mug = product(app, &admin, "MUG-01", 1250, 5).await;
    let lamp = product(app, &admin, "LAMP-7", 4999, 1).await;
    (mug, lamp)
}

#[tokio::test]
async fn a_customer_fills_a_basket_places_it_and_edits_the_order() {
    let app = spawn_app().await;
    let products = shop(&app).await;
    shop_place_and_edit(Browser::start(1280, 900).await, &app, products, None).await;
}

#[tokio::test]
async fn on_a_phone_a_customer_fills_a_basket_places_it_and_edits_the_order() {
    let app = spawn_app().await;
    let products = shop(&app).await;
    let browser = Browser::start_phone().await;
    browser.goto(&format!("{}/", origin(&app))).await;
    browser.find("#login-form").await;
    assert_eq!(browser.eval("return window.innerWidth;").await, json!(375));
    shop_place_and_edit(browser, &app, products, Some("customer-basket")).await;
}

async fn manage_products(browser: Browser, app: &TestApp, screenshot: Option<&str>) {
    browser.goto(&format!("{}/admin", origin(app))).await;
    log_in(&browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("#tab-products").await;
    browser.fill("#product-sku", "MUG-01").await;
    browser.fill("#product-name", "Enamel mug").await;
    browser.fill("#product-price", "12.50").await;
    browser.fill("#product-stock", "10").await;
    browser.click("#product-form button").await;

    let row = "#products tbody tr[data-sku=\"MUG-01\"]";
    browser.find(row).await;
    assert_eq!(
        browser
            .text(&format!("{row} td[data-label=\"Price\"]"))
            .await,
        "€12.50"
    );
    assert_eq!(
        browser.text(&format!("{row} [data-field=stock]")).await,
        "10"
    );

    // Three broke: the stock dialog takes them out, the ledger says so.
    browser.click(&format!("{row} .actions button")).await;
    assert!(
        browser
            .wait_until("return document.querySelector('#stock').open;")
            .await
    );
    browser.fill("#stock-delta", "-3").await;
    browser.fill("#stock-reason", "dropped a box").await;
    browser.click("#stock-form button[type=submit]").await;
    assert_eq!(
        browser
            .wait_for_text(&format!("{row} [data-field=stock]"), "7")
            .await,
        "7"
    );
    // More than there is: refused, and said why.
    browser.click(&format!("{row} .actions button")).await;
    browser.fill("#stock-delta", "-8").await;
    browser.fill("#stock-reason", "inventory").await;
    browser.click("#stock-form button[type=submit]").await;
    let refused = browser
        .wait_for_text_containing("#notice", "not enough stock")
        .await;
    assert_eq!(refused, "not enough stock for MUG-01: 7 left");
    browser.click("#stock [data-close]").await;

    browser
        .click(&format!("{row} .actions button:nth-child(2)"))
        .await;
    assert!(
        browser
            .wait_until("return document.querySelector('#ledger').open && document.querySelectorAll('#ledger tbody tr').length === 2;")
            .await,
        "the ledger opens with both movements"
    );
    assert_eq!(
        browser
            .text("#ledger tbody tr:nth-child(1) td[data-label=\"Change\"]")
            .await,
        "-3"
    );
    assert_eq!(
        browser
            .text("#ledger tbody tr:nth-child(1) td[data-label=\"Reason\"]")
            .await,
        "adjustment: dropped a box"
    );
    assert_eq!(
        browser
            .text("#ledger tbody tr:nth-child(2) td[data-label=\"Change\"]")
            .await,
        "+10"
    );
    assert_eq!(browser.eval(FITS).await, json!(true), "the ledger fits");
    if let Some(name) = screenshot {
        browser.screenshot(name).await;
    }
    browser.click("#ledger [data-close]").await;

    // A new name and price, in the product's dialog.
    browser
        .click(&format!("{row} .actions button:nth-child(3)"))
        .await;
    assert!(
        browser
            .wait_until("return document.querySelector('#product-edit').open;")
            .await
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#product-edit-price').value;")
            .await,
        json!("12.50"),
        "the price as the form takes it"
    );
    browser.fill("#product-edit-name", "Enamel mug, blue").await;
    browser.fill("#product-edit-price", "13.5").await;
    browser
        .click("#product-edit-form button[type=submit]")
        .await;
    assert_eq!(
        browser
            .wait_for_text(&format!("{row} td[data-label=\"Price\"]"), "€13.50")
            .await,
        "€13.50"
    );
    assert_eq!(
        browser
            .text(&format!("{row} td[data-label=\"Name\"]"))
            .await,
        "Enamel mug, blue"
    );
    assert!(
        browser
            .wait_until("return !document.querySelector('#product-edit').open;")
            .await,
        "the dialog closes"
    );

    // Off sale: customers no longer see it.
    browser
        .click(&format!("{row} .actions button:nth-child(4)"))
        .await;
    assert_eq!(
        browser
            .wait_for_text(&format!("{row} td[data-label=\"On sale\"]"), "no")
            .await,
        "no"
    );
    let (status, listed) = app
        .call(reqwest::Method::GET, "/products", None, None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(listed, json!([]));
    assert_eq!(browser.problems().await, Vec::<String>::new());
    browser.close().await;
}

#[tokio::test]
async fn an_admin_adds_a_product_adjusts_its_stock_and_reads_its_ledger() {
    let app = spawn_app().await;
    manage_products(Browser::start(1280, 900).await, &app, None).await;
}

#[tokio::test]
async fn on_a_phone_an_admin_adds_a_product_adjusts_its_stock_and_reads_its_ledger() {
    let app = spawn_app().await;
    manage_products(Browser::start_phone().await, &app, Some("admin-ledger")).await;
}
