//! The lifecycle batch: due orders move one step each, exactly once, as the table says.

use std::sync::Arc;

use chrono::{Duration, Utc};
use trachios_domain::{Actor, ActorKind, AutomaticStep, DueSteps, OrderStatus};

use crate::{customer, new_order, Ports};

pub async fn advance_due_moves_only_due_orders_one_step_and_records_system_events(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let due = orders
        .insert(new_order(a, Duration::seconds(-1)))
        .await
        .unwrap();
    let later = orders
        .insert(new_order(a, Duration::seconds(60)))
        .await
        .unwrap();
    let step = Duration::seconds(10);
    let now = Utc::now();
    let moved = orders
        .advance_due(&DueSteps::at(now, step), 100)
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].was_due_at,
        due.next_step_at.unwrap(),
        "the step reports when it had been due, for the lag metric"
    );
    let moved: Vec<_> = moved.into_iter().map(|a| a.order).collect();
    assert_eq!(
        (moved[0].id, moved[0].status, moved[0].version),
        (due.id, OrderStatus::Dispatched, 2)
    );
    let next = moved[0].next_step_at.unwrap();
    assert!(
        (next - (now + step)).num_milliseconds().abs() <= 1,
        "next step is one step after the move"
    );
    assert_eq!(
        orders.find_by_id(due.id).await.unwrap().as_ref(),
        moved.first()
    );
    assert!(
        orders
            .advance_due(&DueSteps::at(now, step), 100)
            .await
            .unwrap()
            .is_empty(),
        "nothing is due twice"
    );
    let untouched = orders.find_by_id(later.id).await.unwrap().unwrap();
    assert_eq!(untouched, later);

    // Far in the future everything walks to delivered and then stops.
    let far = now + Duration::days(1);
    for expected in [OrderStatus::InTransit, OrderStatus::Delivered] {
        let moved = orders
            .advance_due(&DueSteps::at(far, Duration::zero()), 100)
            .await
            .unwrap();
        assert!(moved
            .iter()
            .any(|a| a.order.id == due.id && a.order.status == expected));
    }
    let final_state = orders.find_by_id(due.id).await.unwrap().unwrap();
    assert_eq!(
        (
            final_state.status,
            final_state.next_step_at,
            final_state.version
        ),
        (OrderStatus::Delivered, None, 4)
    );
    let system_steps: Vec<_> = orders
        .history(due.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == ActorKind::System && e.actor_id.is_none())
        .map(|e| (e.from, e.to))
        .collect();
    assert_eq!(
        system_steps,
        [
            (Some(OrderStatus::Created), OrderStatus::Dispatched),
            (Some(OrderStatus::Dispatched), OrderStatus::InTransit),
            (Some(OrderStatus::InTransit), OrderStatus::Delivered),
        ]
    );
    // The other order is one step behind; once it is delivered too, nothing moves again.
    let later_moved = orders
        .advance_due(
            &DueSteps::at(far + Duration::days(1), Duration::zero()),
            100,
        )
        .await
        .unwrap();
    let later_moved: Vec<_> = later_moved
        .iter()
        .map(|a| (a.order.id, a.order.status))
        .collect();
    assert_eq!(later_moved, [(later.id, OrderStatus::Delivered)]);
    assert!(
        orders
            .advance_due(
                &DueSteps::at(far + Duration::days(2), Duration::zero()),
                100
            )
            .await
            .unwrap()
            .is_empty(),
        "delivered orders never move again"
    );
}

pub async fn concurrent_workers_never_move_the_same_order_twice(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    for _ in 0..200 {
        ports
            .orders
            .insert(new_order(a, Duration::seconds(-1)))
            .await
            .unwrap();
    }
    let now = Utc::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let orders = Arc::clone(&ports.orders);
            tokio::spawn(async move {
                let mut moved = Vec::new();
                loop {
                    let batch = orders
                        .advance_due(&DueSteps::at(now, Duration::seconds(60)), 25)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return moved;
                    }
                    moved.extend(batch.into_iter().map(|a| a.order.id));
                }
            })
        })
        .collect();
    let mut moved = Vec::new();
    for w in workers {
        moved.extend(w.await.unwrap());
    }
    let total = moved.len();
    moved.sort();
    moved.dedup();
    assert_eq!(
        (total, moved.len()),
        (200, 200),
        "each due order moves exactly once"
    );
}

pub async fn the_lifecycle_follows_the_step_table_it_is_given(ports: Ports) {
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let orders = ports.orders.as_ref();
    let due = orders
        .insert(new_order(a, Duration::seconds(-1)))
        .await
        .unwrap();
    let now = Utc::now();
    // A table the domain does not have: created jumps straight to delivered, and the
    // version by two, so that no store can be choosing either itself.
    let table = DueSteps {
        now,
        steps: vec![AutomaticStep {
            from: OrderStatus::Created,
            to: OrderStatus::Delivered,
            next_step_at: None,
        }],
        actor: Actor::System,
        version_step: 2,
    };
    let moved = orders.advance_due(&table, 10).await.unwrap();
    assert_eq!(moved.len(), 1);
    let moved = &moved[0].order;
    assert_eq!(
        (moved.id, moved.status, moved.next_step_at, moved.version),
        (due.id, OrderStatus::Delivered, None, due.version + 2)
    );
}
