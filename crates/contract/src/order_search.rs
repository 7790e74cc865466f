//! Searching the orders: what each store finds is what `OrderSearch::matches` says of every
//! order, a naive scan, with the other filters and page after page.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use trachios_domain::{
    Email, ItemDescription, LineRequests, Order, OrderEdit, OrderFilter, OrderId, OrderRequest,
    OrderSearch, OrderStatus, Role, UserId,
};

use crate::catalog::stored;
use crate::stock::{by_id, caller, with_lines};
use crate::{customer, Ports};

/// Descriptions with what a search by text must take literally or without regard to case.
const DESCRIPTIONS: &[&str] = &[
    "Standing desk, oak",
    "STANDING DESK (walnut)",
    "Desk lamp 100% brass",
    "Cable_tidy 1234",
    "Two\nlines: chair",
    "Back\\slash \"quoted\" chair",
    "Crème brûlée torch",
    "order 4321 for Jo",
];

/// Queries of every kind: pieces of descriptions in other cases, skus, line names, ids,
/// e-mails, `LIKE`'s and FTS5's own characters, and pieces nothing holds.
fn queries(first_id: i64) -> Vec<String> {
    let mut queries: Vec<String> = [
        "desk",
        "Standing",
        "oak",
        "100%",
        "0% b",
        "e_t",
        "le_t",
        "\\sla",
        "\"quoted\"",
        "s: ch",
        "CRÈME",
        "mug-01",
        "MUG",
        "enamel",
        "lamp-7",
        "1234",
        "jo@x.io",
        "AL@EXAMPLE.COM",
        "nobody@x.io",
        "zzz",
    ]
    .iter()
    .map(|q| q.to_string())
    .collect();
    queries.push(first_id.to_string());
    queries.push(format!("#{}", first_id + 2));
    queries
}

pub async fn searches_find_what_the_domains_rule_says_with_filters_and_pages(ports: Ports) {
    let (users, orders, products) = (
        ports.users.as_ref(),
        ports.orders.as_ref(),
        ports.products.as_ref(),
    );
    let jo = customer(users, "jo@x.io").await;
    let al = customer(users, "al@example.com").await;
    let emails: HashMap<UserId, Email> = [
        (jo, Email::parse("jo@x.io").unwrap()),
        (al, Email::parse("al@example.com").unwrap()),
    ]
    .into();
    let mug = stored(products, "MUG-01", "Enamel mug", 100).await;
    let lamp = stored(products, "LAMP-7", "Desk lamp", 100).await;

    let mut stored_orders: Vec<Order> = Vec::new();
    for (n, description) in DESCRIPTIONS.iter().enumerate() {
        let owner = if n % 2 == 0 { jo } else { al };
        let mut placed = Order::place(
            owner,
            OrderRequest::free_text(ItemDescription::parse(description).unwrap()),
            Utc::now(),
            Duration::seconds(60),
        );
        if n % 3 == 0 {
            placed.status = OrderStatus::Cancelled;
            placed.next_step_at = None;
        }
        stored_orders.push(orders.insert(placed).await.unwrap());
        let lines = if n % 2 == 0 {
            vec![by_id(&mug, 1)]
        } else {
            vec![by_id(&mug, 2), by_id(&lamp, 1)]
        };
        stored_orders.push(orders.insert(with_lines(owner, lines)).await.unwrap());
    }
    let first_id = stored_orders[0].id.get();

    for q in queries(first_id) {
        let search = OrderSearch::parse(&q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        for (statuses, customer_id) in [
            (vec![], None),
            (vec![OrderStatus::Cancelled], None),
            (vec![], Some(al)),
        ] {
            let filter = OrderFilter {
                statuses: statuses.clone(),
                customer_id,
                search: Some(search.clone()),
                ..OrderFilter::default()
            };
            let expected: Vec<OrderId> = stored_orders
                .iter()
                .rev()
                .filter(|o| search.matches(o, &emails[&o.customer_id]))
                .filter(|o| statuses.is_empty() || statuses.contains(&o.status))
                .filter(|o| customer_id.is_none_or(|c| o.customer_id == c))
                .map(|o| o.id)
                .collect();
            let mut found = Vec::new();
            let mut before = None;
            loop {
                let page = orders.list(&filter, before, 2).await.unwrap();
                let full = page.len() == 2;
                before = page.last().map(|o| o.id.get());
                found.extend(page.iter().map(|o| o.id));
                if !full {
                    break;
                }
            }
            assert_eq!(
                found, expected,
                "q {q:?}, statuses {statuses:?}, customer {customer_id:?}"
            );
        }
    }
}

pub async fn a_search_finds_an_order_by_its_new_contents_after_an_edit(ports: Ports) {
    let (users, orders, products) = (
        ports.users.as_ref(),
        ports.orders.as_ref(),
        ports.products.as_ref(),
    );
    let jo = customer(users, "jo@x.io").await;
    let mug = stored(products, "MUG-01", "Enamel mug", 100).await;
    let vase = stored(products, "VASE-3", "Glass vase", 100).await;
    let order = orders
        .insert(with_lines(jo, vec![by_id(&mug, 1)]))
        .await
        .unwrap();
    let search = |q: &str| OrderFilter {
        search: Some(OrderSearch::parse(q).unwrap()),
        ..OrderFilter::default()
    };
    let found = |list: Vec<Order>| list.iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(
        found(orders.list(&search("enamel"), None, 10).await.unwrap()),
        vec![order.id]
    );

    let edit = order
        .edit(
            caller(jo, Role::Customer),
            OrderEdit::new(
                Some(LineRequests::parse(vec![by_id(&vase, 2)]).unwrap()),
                None,
                None,
            )
            .unwrap(),
            Utc::now(),
        )
        .unwrap();
    orders.edit(edit).await.unwrap().expect("applied");
    assert_eq!(
        found(orders.list(&search("vase-3"), None, 10).await.unwrap()),
        vec![order.id],
        "the new line's sku"
    );
    assert_eq!(
        found(orders.list(&search("enamel"), None, 10).await.unwrap()),
        vec![],
        "the old line is gone from the search with it"
    );
}
