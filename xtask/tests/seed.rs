//! `cargo xtask seed --demo N` on a fresh embedded store: the admin, the demo catalog, and
//! each demo customer's orders, two of them with lines whose units left the stock; a second
//! run leaves what exists alone.

use std::process::Command;

use trachios_test_support::{sqlite_value, ScratchDatabase};

fn seed(scratch: &ScratchDatabase, customers: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["seed", "--demo", customers])
        .current_dir(scratch.dir())
        .env("APP_ENV", "test")
        .env(
            "TRACHIOS_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config"),
        )
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", scratch.path().display()),
        )
        .env("ADMIN_EMAIL", "admin@trachios.test")
        .env("ADMIN_PASSWORD", "admin-password-1")
        .status()
        .expect("xtask runs");
    assert!(status.success(), "seed --demo {customers}: {status}");
}

#[test]
fn the_demo_has_a_catalog_and_orders_that_took_their_stock() {
    let scratch = ScratchDatabase::new();
    seed(&scratch, "2");
    let value = |sql: &str| sqlite_value(&scratch.path(), sql);
    assert_eq!(value("SELECT count(*) AS value FROM products"), "6");
    assert_eq!(
        value(
            "SELECT count(*) AS value FROM orders o JOIN users u ON u.id = o.customer_id \
             WHERE u.email = 'demo1@trachios.local' AND o.lines <> '[]'"
        ),
        "2"
    );
    // 100 + 5 per customer; each customer took two mugs.
    assert_eq!(
        value("SELECT stock AS value FROM products WHERE sku = 'MUG-01'"),
        (110 - 2 * 2).to_string()
    );
    assert_eq!(
        value(
            "SELECT (SELECT sum(delta) FROM stock_movements m WHERE m.product_id = p.id) = p.stock \
             AS value FROM products p WHERE sku = 'CABLE-2'"
        ),
        "1",
        "the ledger sums to the stock"
    );

    seed(&scratch, "2");
    assert_eq!(value("SELECT count(*) AS value FROM products"), "6");
    assert_eq!(
        value("SELECT count(*) AS value FROM orders"),
        "6",
        "no order twice"
    );
}
