//! Edits of an order while it is `created`: new lines replace the old ones and stock moves
//! by the difference, with an `edited` event, in one transaction; a stale or refused edit
//! writes nothing; an edit and a cancellation of the same order running at once never
//! deadlock and never lose or make a unit.

use std::sync::Arc;

use chrono::Utc;
use trachios_domain::ports::OrderRepository;
use trachios_domain::{
    ActorKind, AddressInput, DomainError, DueSteps, EventKind, LineRequests, MovementReason, Order,
    OrderEdit, OrderNote, OrderStatus, Role, ShippingAddress,
};

use crate::catalog::stored;
use crate::stock::{by_id, caller, movements_of, stock_of, with_lines, STEP};
use crate::{customer, Ports};

fn relines(lines: Vec<trachios_domain::LineRequest>) -> OrderEdit {
    OrderEdit::new(Some(LineRequests::parse(lines).expect("lines")), None, None).expect("an edit")
}

fn units(order: &Order) -> Vec<(String, u32)> {
    order
        .details
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity.get()))
        .collect()
}

pub async fn an_edit_replaces_the_lines_and_moves_stock_by_the_difference_once(ports: Ports) {
    let (orders, products) = (ports.orders.as_ref(), ports.products.as_ref());
    let ada = customer(ports.users.as_ref(), "ada@x.io").await;
    let mug = stored(products, "MUG-01", "Enamel mug", 5).await;
    let lamp = stored(products, "LAMP-7", "Desk lamp", 1).await;
    let bowl = stored(products, "BOWL-2", "Bowl", 4).await;
    let placed = orders
        .insert(with_lines(ada, vec![by_id(&mug, 2), by_id(&lamp, 1)]))
        .await
        .expect("placed");
    let edit = placed
        .edit(
            caller(ada, Role::Customer),
            relines(vec![by_id(&mug, 3), by_id(&bowl, 1)]),
            Utc::now(),
        )
        .expect("editable");
    let edited = orders
        .edit(edit.clone())
        .await
        .expect("edit")
        .expect("applied");
    assert_eq!(edited.version, placed.version + 1);
    assert_eq!(edited.status, OrderStatus::Created);
    assert_eq!(
        edited.next_step_at, placed.next_step_at,
        "an edit keeps the clock"
    );
    assert_eq!(
        units(&edited),
        [("MUG-01".to_owned(), 3), ("BOWL-2".to_owned(), 1)]
    );
    assert_eq!(edited.item_description.as_str(), "3 × Enamel mug, 1 × Bowl");
    assert_eq!(
        edited.details.total.map(|t| t.minor()),
        Some(3 * mug.price.minor() + bowl.price.minor())
    );
    let stored_now = orders
        .find_by_id(placed.id)
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(
        stored_now, edited,
        "what the edit returned is what is stored"
    );
    assert_eq!(
        orders.edit(edit).await.expect("edit"),
        None,
        "a repeat of the same edit loses its compare-and-set"
    );
    assert_eq!(stock_of(products, &mug).await, 2);
    assert_eq!(stock_of(products, &lamp).await, 1, "the lamp came back");
    assert_eq!(stock_of(products, &bowl).await, 3);
    assert_eq!(
        movements_of(products, &mug, &placed).await,
        vec![
            (MovementReason::Order, -2, ActorKind::Customer),
            (MovementReason::OrderEdit, -1, ActorKind::Customer),
        ]
    );
    assert_eq!(
        movements_of(products, &lamp, &placed).await,
        vec![
            (MovementReason::Order, -1, ActorKind::Customer),
            (MovementReason::OrderEdit, 1, ActorKind::Customer),
        ]
    );

    // An admin's edit of the address and note keeps the lines and moves nothing.
    let address = ShippingAddress::parse(&AddressInput {
        name: "Ada Lovelace",
        line1: "12 St James's Square",
        line2: "",
        city: "London",
        region: "",
        postal_code: "SW1Y 4JH",
        country: "GB",
        phone: "",
    })
    .expect("an address");
    let note = OrderNote::parse("Leave it with the porter").expect("a note");
    let boss = caller(trachios_domain::UserId::parse(1).expect("id"), Role::Admin);
    let readdressed = orders
        .edit(
            edited
                .edit(
                    boss,
                    OrderEdit::new(None, Some(Some(address.clone())), Some(note.clone()))
                        .expect("an edit"),
                    Utc::now(),
                )
                .expect("editable"),
        )
        .await
        .expect("edit")
        .expect("applied");
    assert_eq!(readdressed.details.lines, edited.details.lines);
    assert_eq!(
        readdressed.details.shipping_address.as_deref(),
        Some(&address)
    );
    assert_eq!(readdressed.details.note, note);
    assert_eq!(stock_of(products, &mug).await, 2);

    let history = orders.history(placed.id).await.expect("history");
    let kinds: Vec<_> = history
        .iter()
        .map(|e| (e.kind, e.from, e.to, e.actor))
        .collect();
    let created = OrderStatus::Created;
    assert_eq!(
        kinds,
        vec![
            (EventKind::Created, None, created, ActorKind::Customer),
            (
                EventKind::Edited,
                Some(created),
                created,
                ActorKind::Customer
            ),
            (EventKind::Edited, Some(created), created, ActorKind::Admin),
        ]
    );
}

pub async fn a_refused_or_stale_edit_changes_nothing(ports: Ports) {
    let (orders, products) = (ports.orders.as_ref(), ports.products.as_ref());
    let ada = customer(ports.users.as_ref(), "ada@x.io").await;
    let mug = stored(products, "MUG-01", "Enamel mug", 3).await;
    let placed = orders
        .insert(with_lines(ada, vec![by_id(&mug, 2)]))
        .await
        .expect("placed");
    let owner = caller(ada, Role::Customer);
    let short = placed
        .edit(owner, relines(vec![by_id(&mug, 4)]), Utc::now())
        .expect("editable");
    let refused = orders.edit(short).await;
    assert!(
        matches!(refused, Err(DomainError::OutOfStock { left: 1, .. })),
        "two more units of a product with one left: {refused:?}"
    );
    let unchanged = orders
        .find_by_id(placed.id)
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(unchanged, placed);
    assert_eq!(stock_of(products, &mug).await, 1);
    assert_eq!(orders.history(placed.id).await.expect("history").len(), 1);

    // Decided while `created`, stored after the lifecycle moved the order on: stale.
    let late = placed
        .edit(owner, relines(vec![by_id(&mug, 1)]), Utc::now())
        .expect("editable");
    let moved = orders
        .advance_due(&DueSteps::at(Utc::now() + STEP * 2, STEP), 10)
        .await
        .expect("lifecycle");
    assert_eq!(moved.len(), 1);
    assert_eq!(orders.edit(late).await.expect("edit"), None);
    assert_eq!(stock_of(products, &mug).await, 1);
    assert_eq!(
        movements_of(products, &mug, &placed).await,
        vec![(MovementReason::Order, -2, ActorKind::Customer)]
    );
}

/// Each order edited and cancelled at the same moment, while others are placed: every
/// pair ends one way or the other, nothing deadlocks, and no unit is made or lost.
pub async fn edits_and_cancellations_racing_keep_every_unit(ports: Ports) {
    let orders: Arc<dyn OrderRepository> = ports.orders.clone();
    let products = ports.products.as_ref();
    let ada = customer(ports.users.as_ref(), "ada@x.io").await;
    let owner = caller(ada, Role::Customer);
    let a = stored(products, "A-1", "Apples", 500).await;
    let b = stored(products, "B-1", "Bread", 500).await;
    let mut placed = Vec::new();
    for _ in 0..30 {
        placed.push(
            orders
                .insert(with_lines(ada, vec![by_id(&a, 2), by_id(&b, 1)]))
                .await
                .expect("placed"),
        );
    }
    let mut tasks = Vec::new();
    for order in &placed {
        let edit = order
            .edit(owner, relines(vec![by_id(&b, 3), by_id(&a, 1)]), Utc::now())
            .expect("editable");
        let cancel = order.cancel(owner, Utc::now(), STEP).expect("cancellable");
        let (for_edit, for_cancel) = (orders.clone(), orders.clone());
        tasks.push(tokio::spawn(async move {
            for_edit.edit(edit).await.map(|o| o.is_some())
        }));
        tasks.push(tokio::spawn(async move {
            for_cancel.transition(cancel).await.map(|o| o.is_some())
        }));
    }
    let mut applied = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(true) => applied += 1,
            Ok(false) => {}
            Err(err) => panic!("an edit or a cancellation failed: {err:?}"),
        }
    }
    assert!(
        applied >= placed.len(),
        "at least one change of each order landed"
    );
    let (mut held_a, mut held_b) = (0, 0);
    for order in &placed {
        let now = orders
            .find_by_id(order.id)
            .await
            .expect("find")
            .expect("stored");
        let live = |sku: &str| -> i64 {
            if now.status == OrderStatus::Cancelled {
                return 0;
            }
            now.details
                .lines
                .iter()
                .filter(|l| l.sku == sku)
                .map(|l| i64::from(l.quantity.get()))
                .sum()
        };
        for (product, sku, held) in [(&a, "A-1", &mut held_a), (&b, "B-1", &mut held_b)] {
            let moved: i64 = movements_of(products, product, order)
                .await
                .iter()
                .map(|(_, delta, _)| delta)
                .sum();
            assert_eq!(moved, -live(sku), "order {} holds what it took", order.id);
            *held += live(sku);
        }
    }
    assert_eq!(stock_of(products, &a).await + held_a, 500);
    assert_eq!(stock_of(products, &b).await + held_b, 500);
}
