//! Keyset pages and filters of the order and user lists.

use chrono::{DateTime, Duration, Utc};
use trachios_domain::ports::OrderRepository;
use trachios_domain::{
    Email, Name, NewUser, Order, OrderFilter, OrderId, OrderStatus, PasswordHash, Role, UserFilter,
    UserId,
};

use crate::{customer, new_order, Ports};

/// Stores an order created at `at` with the given status, as the domain could have left it.
async fn order_at(
    orders: &dyn OrderRepository,
    customer_id: UserId,
    at: DateTime<Utc>,
    status: OrderStatus,
) -> Order {
    let mut placed = new_order(customer_id, Duration::seconds(60));
    placed.created_at = at;
    placed.status = status;
    placed.next_step_at = status.due_time(at, Duration::seconds(60));
    orders.insert(placed).await.unwrap()
}

fn ids(orders: &[Order]) -> Vec<OrderId> {
    orders.iter().map(|o| o.id).collect()
}

/// Follows `before` from page to page the way the API's `next` links do.
async fn every_page(orders: &dyn OrderRepository, filter: &OrderFilter, size: usize) -> Vec<Order> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = orders.list(filter, before, size).await.unwrap();
        let last = page.last().map(|o| o.id.get());
        let full = page.len() == size;
        all.extend(page);
        match last {
            Some(id) if full => before = Some(id),
            _ => return all,
        }
    }
}

pub async fn orders_are_filtered_and_paged_newest_first(ports: Ports) {
    let (users, orders) = (ports.users.as_ref(), ports.orders.as_ref());
    let a = customer(users, "a@x.io").await;
    let b = customer(users, "b@x.io").await;
    let t0 = DateTime::parse_from_rfc3339("2026-11-25T10:00:00.000001Z")
        .unwrap()
        .with_timezone(&Utc);
    let statuses = [
        OrderStatus::Created,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::InTransit,
    ];
    let mut stored = Vec::new();
    for i in 0..8 {
        let owner = if i % 2 == 0 { a } else { b };
        let at = t0 + Duration::seconds(i);
        stored.push(order_at(orders, owner, at, statuses[i as usize % 4]).await);
    }
    let newest_first = |keep: &dyn Fn(&Order) -> bool| -> Vec<OrderId> {
        stored
            .iter()
            .rev()
            .filter(|o| keep(o))
            .map(|o| o.id)
            .collect()
    };

    let everything = OrderFilter::default();
    assert_eq!(
        ids(&orders.list(&everything, None, 100).await.unwrap()),
        newest_first(&|_| true)
    );
    let of_a = OrderFilter::default().for_customer(a);
    assert_eq!(
        ids(&orders.list(&of_a, None, 100).await.unwrap()),
        newest_first(&|o| o.customer_id == a)
    );
    let finished = OrderFilter {
        statuses: vec![OrderStatus::Delivered, OrderStatus::Cancelled],
        ..OrderFilter::default()
    };
    assert_eq!(
        ids(&orders.list(&finished, None, 100).await.unwrap()),
        newest_first(&|o| o.status.is_terminal())
    );
    // Exclusive bounds, to the microsecond every store keeps.
    let window = OrderFilter {
        created_after: Some(stored[2].created_at),
        created_before: Some(stored[6].created_at),
        ..OrderFilter::default()
    };
    assert_eq!(
        ids(&orders.list(&window, None, 100).await.unwrap()),
        vec![stored[5].id, stored[4].id, stored[3].id]
    );
    let combined = OrderFilter {
        statuses: vec![OrderStatus::Created],
        created_after: Some(t0),
        ..OrderFilter::default()
    }
    .for_customer(a);
    assert_eq!(
        ids(&orders.list(&combined, None, 100).await.unwrap()),
        vec![stored[4].id]
    );

    for size in [1, 3, 8] {
        assert_eq!(
            ids(&every_page(orders, &everything, size).await),
            newest_first(&|_| true),
            "pages of {size}"
        );
    }
    assert_eq!(
        ids(&every_page(orders, &of_a, 3).await),
        newest_first(&|o| o.customer_id == a)
    );
}

pub async fn users_are_filtered_by_role_and_exact_email_and_paged(ports: Ports) {
    let users = ports.users.as_ref();
    let a = customer(users, "a@x.io").await;
    let admin = users
        .insert(NewUser {
            name: Name::parse("Ada").unwrap(),
            email: Email::parse("ada@x.io").unwrap(),
            password_hash: PasswordHash::new("phc".into()),
            role: Role::Admin,
        })
        .await
        .unwrap()
        .id;
    let b = customer(users, "b@x.io").await;
    let listed = |page: Vec<trachios_domain::User>| page.iter().map(|u| u.id).collect::<Vec<_>>();

    assert_eq!(
        listed(users.list(&UserFilter::default(), None, 10).await.unwrap()),
        vec![b, admin, a]
    );
    assert_eq!(
        listed(
            users
                .list(&UserFilter::default(), Some(b.get()), 1)
                .await
                .unwrap()
        ),
        vec![admin]
    );
    let admins = UserFilter {
        role: Some(Role::Admin),
        email: None,
    };
    assert_eq!(
        listed(users.list(&admins, None, 10).await.unwrap()),
        vec![admin]
    );
    let by_email = UserFilter {
        role: None,
        email: Some(Email::parse("B@X.io").unwrap()),
    };
    assert_eq!(
        listed(users.list(&by_email, None, 10).await.unwrap()),
        vec![b]
    );
}
