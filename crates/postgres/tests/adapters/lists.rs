//! The plans that serve the order and user lists (the lists' behaviour is the port
//! contract's, in trachios-contract).

use chrono::{Duration, Utc};
use trachios_domain::{Email, OrderFilter, OrderSearch, OrderStatus, Role, UserFilter};
use trachios_test_support::psql;

use crate::fixture::{fixture, Fixture};

/// A plan that reads the whole table makes a page's cost grow with the table.
fn assert_indexed(plan: &str, what: &str) {
    assert!(
        !plan.contains("Seq Scan") && plan.contains("Index"),
        "{what} is not served by an index:\n{plan}"
    );
}

fn searching(q: &str) -> OrderFilter {
    OrderFilter {
        search: Some(OrderSearch::parse(q).unwrap()),
        ..OrderFilter::default()
    }
}

#[tokio::test]
async fn every_list_shape_is_served_by_an_index() {
    let Fixture {
        orders,
        users,
        a,
        url,
        ..
    } = fixture().await;
    // 50,000 orders over 500 customers, mostly delivered like a real table, then fresh
    // statistics so that the planner sees the table as it is.
    psql(
        &url,
        "INSERT INTO users (name, email, password_hash)
             SELECT 'U', 'u' || g || '@x.io', 'phc' FROM generate_series(1, 500) g;
         INSERT INTO orders (customer_id, item_description, status, next_step_at, created_at)
             SELECT u.id, 'Laptop',
                    CASE WHEN g % 100 = 0 THEN 'created'::order_status ELSE 'delivered' END,
                    CASE WHEN g % 100 = 0 THEN now() END,
                    now() - make_interval(secs => 50000 - g)
             FROM generate_series(1, 50000) g
             JOIN users u ON u.email = 'u' || (g % 500 + 1) || '@x.io';
         ANALYZE users;",
    )
    .await;
    // As autovacuum leaves a table that grew: the rows just inserted sit in the search
    // index's pending list until a vacuum merges them, and a plan priced with a list of
    // 50,000 rows to scan prefers the table itself at this size.
    psql(&url, "VACUUM ANALYZE orders").await;
    let recent = Utc::now() - Duration::seconds(100);
    let shapes = [
        ("every order", OrderFilter::default(), None),
        ("a page further down", OrderFilter::default(), Some(25_000)),
        (
            "a customer's orders",
            OrderFilter::default().for_customer(a),
            None,
        ),
        (
            "orders in one status",
            OrderFilter {
                statuses: vec![OrderStatus::Created],
                ..OrderFilter::default()
            },
            None,
        ),
        (
            "orders in either of two statuses",
            OrderFilter {
                statuses: vec![OrderStatus::Created, OrderStatus::Dispatched],
                ..OrderFilter::default()
            },
            None,
        ),
        (
            "recent orders",
            OrderFilter {
                created_after: Some(recent),
                ..OrderFilter::default()
            },
            None,
        ),
        (
            "old orders",
            OrderFilter {
                created_before: Some(recent),
                ..OrderFilter::default()
            },
            None,
        ),
        (
            "a search for a piece every order holds",
            searching("aptop"),
            None,
        ),
        (
            "a search for a piece no order holds",
            searching("zircon"),
            None,
        ),
        (
            "a search for a customer's e-mail",
            searching("u7@x.io"),
            None,
        ),
        ("a search for an order id", searching("4242"), None),
    ];
    for (what, filter, before) in shapes {
        let plan = orders.explain_list(&filter, before, 101).await.unwrap();
        assert_indexed(&plan, what);
    }
    let one_status = OrderFilter {
        statuses: vec![OrderStatus::Created],
        ..OrderFilter::default()
    };
    let plan = orders.explain_list(&one_status, None, 101).await.unwrap();
    // The rare status of a large table is read from its own index, not found by walking
    // past every other order.
    assert!(plan.contains("orders_status_id_idx"), "{plan}");
    let admins = UserFilter {
        role: Some(Role::Admin),
        email: None,
    };
    assert_indexed(
        &users.explain_list(&admins, None, 101).await.unwrap(),
        "users by role",
    );
    let by_email = UserFilter {
        role: None,
        email: Some(Email::parse("u7@x.io").unwrap()),
    };
    assert_indexed(
        &users.explain_list(&by_email, None, 101).await.unwrap(),
        "users by email",
    );
}
