//! Concurrent creations stored in batches: each caller gets the order it placed, with its
//! creation event, and a batch commits — or fails — as one transaction.

use chrono::{Duration, Utc};
use futures_util::future::join_all;
use trachios_domain::ports::OrderRepository;
use trachios_domain::{ItemDescription, NewOrder, Order, OrderItems, OrderRequest, UserId};
use trachios_test_support::psql;

use crate::fixture::{customer, fixture, refuse_commits_on, Fixture};

fn placed_by(customers: &[UserId], count: usize) -> Vec<NewOrder> {
    (0..count)
        .map(|i| {
            Order::place(
                customers[i % customers.len()],
                OrderRequest::free_text(ItemDescription::parse(&format!("item {i}")).unwrap()),
                Utc::now(),
                Duration::seconds(60 + i as i64),
            )
        })
        .collect()
}

async fn insert_all_at_once(
    orders: &trachios_postgres::PgOrderRepository,
    placed: &[NewOrder],
) -> Vec<Result<Order, trachios_domain::DomainError>> {
    join_all(placed.iter().cloned().map(|order| {
        let orders = orders.clone();
        async move { orders.insert(order).await }
    }))
    .await
}

#[tokio::test]
async fn concurrent_creations_share_transactions_and_each_gets_the_order_it_placed() {
    let Fixture {
        orders,
        users,
        a,
        url,
        ..
    } = fixture().await;
    let b = customer(&users, "b@x.io").await;
    let placed = placed_by(&[a, b], 200);

    let stored = insert_all_at_once(&orders, &placed).await;

    let mut ids = std::collections::BTreeSet::new();
    for (input, output) in placed.iter().zip(stored) {
        let output = output.expect("stored");
        assert_eq!(
            (
                output.customer_id,
                output.item_description.as_str(),
                output.status,
                output.version,
                output.next_step_at.map(|t| t.timestamp_micros()),
                output.created_at.timestamp_micros()
            ),
            (
                input.customer_id,
                match &input.request.items {
                    OrderItems::FreeText(item) => item.as_str(),
                    OrderItems::Lines(_) => unreachable!("free-text orders only"),
                },
                input.status,
                input.version,
                // PostgreSQL keeps microseconds.
                input.next_step_at.map(|t| t.timestamp_micros()),
                input.created_at.timestamp_micros()
            )
        );
        ids.insert(output.id);
    }
    assert_eq!(ids.len(), 200, "every caller got its own order");
    let events = psql(
        &url,
        "SELECT count(*) FROM orders o JOIN order_events e ON e.order_id = o.id \
         WHERE e.from_status IS NULL AND e.to_status = o.status AND e.version = o.version \
           AND e.next_step_at = o.next_step_at AND e.created_at = o.created_at \
           AND e.actor = 'customer' AND e.actor_id = o.customer_id",
    )
    .await;
    assert_eq!(
        events.trim(),
        "200",
        "one matching creation event per order"
    );
    let transactions: usize = psql(&url, "SELECT count(DISTINCT xmin::text) FROM orders")
        .await
        .trim()
        .parse()
        .unwrap();
    assert!(
        transactions <= 50,
        "200 concurrent creations took {transactions} transactions"
    );
}

#[tokio::test]
async fn a_batch_that_fails_to_commit_answers_every_caller_with_the_failure_and_stores_nothing() {
    let Fixture { orders, a, url, .. } = fixture().await;
    refuse_commits_on(&url, "order_events").await;
    let outcomes = insert_all_at_once(&orders, &placed_by(&[a], 20)).await;
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
    assert_eq!(psql(&url, "SELECT count(*) FROM orders").await.trim(), "0");
}
