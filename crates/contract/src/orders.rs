//! Single orders: stored exactly as decided, changed by compare-and-set, each change an event.

use chrono::{Duration, SubsecRound, Utc};
use trachios_domain::{Actor, ActorKind, Caller, OrderId, OrderStatus, Role};

use crate::{customer, new_order, Ports};

pub async fn an_order_is_stored_exactly_as_the_domain_placed_it(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let mut placed = new_order(a, Duration::seconds(60));
    // Whatever the domain decides is what is stored: here, an unusual start.
    placed.status = OrderStatus::Dispatched;
    placed.version = 5;
    placed.actor = Actor::System;
    let stored = orders.insert(placed.clone()).await.unwrap();
    // Every store keeps microseconds.
    assert_eq!(
        (
            stored.customer_id,
            stored.item_description.as_str(),
            stored.status,
            stored.version,
            stored.next_step_at,
            stored.created_at,
            stored.updated_at,
        ),
        (
            a,
            "Laptop",
            OrderStatus::Dispatched,
            5,
            placed.next_step_at.map(|t| t.trunc_subsecs(6)),
            placed.created_at.trunc_subsecs(6),
            placed.created_at.trunc_subsecs(6),
        )
    );
    assert_eq!(
        orders.find_by_id(stored.id).await.unwrap(),
        Some(stored.clone())
    );
    let history = orders.history(stored.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].order_id,
            history[0].from,
            history[0].to,
            history[0].actor,
            history[0].actor_id,
            history[0].at
        ),
        (
            stored.id,
            None,
            OrderStatus::Dispatched,
            ActorKind::System,
            None,
            stored.created_at
        )
    );
}

pub async fn a_transition_applies_once_and_a_stale_version_loses(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let order = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let owner = Caller {
        user_id: a,
        role: Role::Customer,
    };
    let change = order
        .cancel(owner, Utc::now(), Duration::seconds(60))
        .unwrap();
    let cancelled = orders.transition(change.clone()).await.unwrap().unwrap();
    assert_eq!(
        (cancelled.status, cancelled.version, cancelled.next_step_at),
        (OrderStatus::Cancelled, 2, None)
    );
    assert_eq!(cancelled.updated_at, change.at.trunc_subsecs(6));
    assert!(
        orders.transition(change).await.unwrap().is_none(),
        "the same compare-and-set must not apply twice"
    );
    assert_eq!(orders.find_by_id(order.id).await.unwrap(), Some(cancelled));
    let steps: Vec<_> = orders
        .history(order.id)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.from, e.to, e.actor, e.actor_id))
        .collect();
    assert_eq!(
        steps,
        vec![
            (None, OrderStatus::Created, ActorKind::Customer, Some(a)),
            (
                Some(OrderStatus::Created),
                OrderStatus::Cancelled,
                ActorKind::Customer,
                Some(a)
            ),
        ]
    );
}

pub async fn history_is_oldest_first_and_empty_for_an_unknown_order(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let first = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let second = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let admin = Caller {
        user_id: a,
        role: Role::Admin,
    };
    let mut current = first.clone();
    for to in [OrderStatus::Dispatched, OrderStatus::InTransit] {
        let change = current
            .override_to(to, admin, Utc::now(), Duration::seconds(60))
            .unwrap()
            .expect("a change");
        current = orders.transition(change).await.unwrap().unwrap();
    }
    let history = orders.history(first.id).await.unwrap();
    let path: Vec<_> = history.iter().map(|e| e.to).collect();
    assert_eq!(
        path,
        [
            OrderStatus::Created,
            OrderStatus::Dispatched,
            OrderStatus::InTransit
        ]
    );
    assert!(history
        .windows(2)
        .all(|w| w[0].id < w[1].id && w[0].at <= w[1].at));
    assert_eq!(orders.history(second.id).await.unwrap().len(), 1);
    let unknown = OrderId::parse(second.id.get() + 1000).unwrap();
    assert!(orders.history(unknown).await.unwrap().is_empty());
    assert!(orders.find_by_id(unknown).await.unwrap().is_none());
}

pub async fn open_orders_are_counted_per_customer_up_to_the_bound(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let b = customer(ports.users.as_ref(), "b@x.io").await;
    let orders = ports.orders.as_ref();
    let mut placed = Vec::new();
    for _ in 0..4 {
        placed.push(
            orders
                .insert(new_order(a, chrono::Duration::seconds(600)))
                .await
                .unwrap(),
        );
    }
    orders
        .insert(new_order(b, chrono::Duration::seconds(600)))
        .await
        .unwrap();
    assert_eq!(orders.count_open(a, 100).await.unwrap(), 4);
    assert_eq!(
        orders.count_open(a, 3).await.unwrap(),
        3,
        "counted up to the bound"
    );
    let caller = Caller {
        user_id: a,
        role: Role::Customer,
    };
    let change = placed[0]
        .cancel(caller, chrono::Utc::now(), chrono::Duration::seconds(600))
        .unwrap();
    orders.transition(change).await.unwrap().expect("cancelled");
    assert_eq!(
        orders.count_open(a, 100).await.unwrap(),
        3,
        "a cancelled order is finished"
    );
    assert_eq!(orders.count_open(b, 100).await.unwrap(), 1);
}
