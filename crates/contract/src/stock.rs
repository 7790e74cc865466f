//! Orders that move stock: a placement takes its lines' units in the transaction that
//! stores it, a cancellation gives them back exactly once, a reinstatement takes them again,
//! and whatever runs at once no unit is sold twice and every ledger balances.

use std::sync::Arc;

use chrono::{Duration, Utc};
use trachios_domain::ports::{OrderRepository, ProductRepository};
use trachios_domain::{
    ActorKind, AddressInput, Caller, DomainError, IdempotencyKey, KeyClaim, KeyedInsert,
    LineRequest, LineRequests, MovementReason, NewOrder, Order, OrderFilter, OrderItems, OrderNote,
    OrderRequest, OrderStatus, Product, ProductRef, Quantity, RequestFingerprint, Role,
    ShippingAddress, Sku, StockAdjustment, UserId,
};

use crate::catalog::{admin, ledger, stored};
use crate::{customer, Ports};

pub(crate) const STEP: Duration = Duration::seconds(60);

pub(crate) fn line(product: ProductRef, units: i64) -> LineRequest {
    LineRequest {
        product,
        quantity: Quantity::parse(units, "quantity").expect("quantity"),
    }
}

pub(crate) fn by_id(product: &Product, units: i64) -> LineRequest {
    line(ProductRef::Id(product.id), units)
}

pub(crate) fn with_lines(customer: UserId, lines: Vec<LineRequest>) -> NewOrder {
    Order::place(
        customer,
        OrderRequest {
            items: OrderItems::Lines(LineRequests::parse(lines).expect("lines")),
            shipping_address: None,
            note: None,
        },
        Utc::now(),
        STEP,
    )
}

pub(crate) async fn stock_of(products: &dyn ProductRepository, product: &Product) -> i64 {
    let (stock, sum, chained) = ledger(products, product).await;
    assert_eq!(
        sum,
        stock,
        "the ledger of {} sums to its stock",
        product.sku.as_str()
    );
    assert!(chained, "stock_after of {} chains", product.sku.as_str());
    stock
}

/// The order's movements of the product, oldest first.
pub(crate) async fn movements_of(
    products: &dyn ProductRepository,
    product: &Product,
    order: &Order,
) -> Vec<(MovementReason, i64, ActorKind)> {
    let mut found: Vec<_> = products
        .movements(product.id, None, 100_000)
        .await
        .expect("movements")
        .expect("product")
        .into_iter()
        .filter(|m| m.order_id == Some(order.id))
        .map(|m| (m.reason, m.delta, m.actor))
        .collect();
    found.reverse();
    found
}

pub(crate) fn caller(id: UserId, role: Role) -> Caller {
    Caller { user_id: id, role }
}

pub async fn an_order_with_lines_is_priced_from_the_catalog_and_takes_its_stock(ports: Ports) {
    let (orders, products) = (ports.orders.as_ref(), ports.products.as_ref());
    let ada = customer(ports.users.as_ref(), "ada@x.io").await;
    let mug = stored(products, "MUG-01", "Enamel mug", 5).await;
    let lamp = stored(products, "LAMP-7", "Desk lamp", 2).await;
    let address = ShippingAddress::parse(&AddressInput {
        name: "Ada Lovelace",
        line1: "12 St James's Square",
        city: "London",
        postal_code: "SW1Y 4JH",
        country: "GB",
        phone: "+442079460000",
        ..AddressInput::default()
    })
    .expect("address");
    let mut new = with_lines(
        ada,
        vec![
            by_id(&mug, 2),
            line(ProductRef::Sku(Sku::parse("lamp-7").expect("sku")), 1),
        ],
    );
    new.request.shipping_address = Some(address.clone());
    new.request.note = OrderNote::parse("Leave it with the porter").expect("note");
    let placed = orders.insert(new).await.expect("placed");
    assert_eq!(
        placed.item_description.as_str(),
        "2 × Enamel mug, 1 × Desk lamp"
    );
    let read = orders
        .find_by_id(placed.id)
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(read, placed, "read back exactly as stored");
    let details = &read.details;
    assert_eq!(details.lines.len(), 2);
    assert_eq!(
        (
            details.lines[1].sku.as_str(),
            details.lines[1].quantity.get()
        ),
        ("LAMP-7", 1),
        "the sku as the catalog writes it"
    );
    assert_eq!(details.total.map(|t| t.minor()), Some(2 * 1250 + 1250));
    assert_eq!(details.shipping_address.as_deref(), Some(&address));
    assert_eq!(
        details.note.as_ref().map(OrderNote::as_str),
        Some("Leave it with the porter")
    );
    assert_eq!(stock_of(products, &mug).await, 3);
    assert_eq!(stock_of(products, &lamp).await, 1);
    assert_eq!(
        movements_of(products, &mug, &read).await,
        vec![(MovementReason::Order, -2, ActorKind::Customer)]
    );
}

pub async fn an_order_short_of_stock_stores_nothing(ports: Ports) {
    let (orders, products) = (ports.orders.as_ref(), ports.products.as_ref());
    let ada = customer(ports.users.as_ref(), "ada@x.io").await;
    let mug = stored(products, "MUG-01", "Enamel mug", 5).await;
    let lamp = stored(products, "LAMP-7", "Desk lamp", 1).await;
    let refused = orders
        .insert(with_lines(ada, vec![by_id(&mug, 1), by_id(&lamp, 2)]))
        .await;
    let Err(DomainError::OutOfStock { sku, left }) = refused else {
        panic!("expected a shortage, got {refused:?}");
    };
    assert_eq!((sku.as_str(), left), ("LAMP-7", 1));
    let key = IdempotencyKey::parse("k-1").expect("key");
    let keyed = orders
        .insert_keyed(
            with_lines(ada, vec![by_id(&lamp, 2)]),
            KeyClaim {
                key: key.clone(),
                fingerprint: RequestFingerprint([7; 32]),
                expires_at: Utc::now() + Duration::hours(24),
            },
        )
        .await;
    assert!(
        matches!(keyed, Err(DomainError::OutOfStock { .. })),
        "{keyed:?}"
    );
    assert!(
        orders
            .find_claim(ada, &key, Utc::now())
            .await
            .expect("claim")
            .is_none(),
        "a refused creation keeps no key, so a retry after a restock can succeed"
    );
    let listed = orders
        .list(&OrderFilter::default(), None, 10)
        .await
        .expect("list");
    assert!(listed.is_empty(), "no order: {listed:?}");
    assert_eq!(stock_of(products, &mug).await, 5, "no line taken alone");
    assert_eq!(stock_of(products, &lamp).await, 1);
    // An order of an inactive or unknown product is refused naming its line.
    let unknown = orders
        .insert(with_lines(
            ada,
            vec![
                by_id(&mug, 1),
                line(ProductRef::Sku(Sku::parse("NOPE").expect("sku")), 1),
            ],
        ))
        .await;
    assert!(
        matches!(&unknown, Err(DomainError::Validation(m)) if m == "lines[1]: no such product"),
        "{unknown:?}"
    );
}

pub async fn a_cancellation_returns_the_units_once_and_a_reinstatement_takes_them_again(
    ports: Ports,
) {
    let (orders, products) = (ports.orders.as_ref(), ports.products.as_ref());
    let ada = customer(ports.users.as_ref(), "ada@x.io").await;
    let boss = caller(UserId::parse(1).expect("id"), Role::Admin);
    let mug = stored(products, "MUG-01", "Enamel mug", 5).await;
    let placed = orders
        .insert(with_lines(ada, vec![by_id(&mug, 2)]))
        .await
        .expect("placed");
    let cancel = placed
        .cancel(caller(ada, Role::Customer), Utc::now(), STEP)
        .expect("cancellable");
    let cancelled = orders
        .transition(cancel.clone())
        .await
        .expect("transition")
        .expect("applied");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(stock_of(products, &mug).await, 5);
    assert_eq!(
        orders.transition(cancel).await.expect("transition"),
        None,
        "a repeat of the same change loses its compare-and-set"
    );
    assert_eq!(stock_of(products, &mug).await, 5, "given back exactly once");

    let reinstate = cancelled
        .override_to(OrderStatus::Created, boss, Utc::now(), STEP)
        .expect("admin")
        .expect("a change");
    let reinstated = orders
        .transition(reinstate)
        .await
        .expect("transition")
        .expect("applied");
    assert_eq!(stock_of(products, &mug).await, 3);

    // Cancelled again, and meanwhile the stock sold elsewhere: taking it up again is a
    // conflict that changes nothing.
    let again = reinstated
        .override_to(OrderStatus::Cancelled, boss, Utc::now(), STEP)
        .expect("admin")
        .expect("a change");
    let cancelled = orders
        .transition(again)
        .await
        .expect("transition")
        .expect("applied");
    let sold = StockAdjustment::parse(-4, "sold at the counter").expect("adjustment");
    products
        .adjust_stock(mug.id, &sold, admin(), Utc::now())
        .await
        .expect("adjust")
        .expect("product");
    let short = cancelled
        .override_to(OrderStatus::Dispatched, boss, Utc::now(), STEP)
        .expect("admin")
        .expect("a change");
    let refused = orders.transition(short).await;
    assert!(
        matches!(refused, Err(DomainError::OutOfStock { left: 1, .. })),
        "{refused:?}"
    );
    let unchanged = orders
        .find_by_id(placed.id)
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(
        unchanged, cancelled,
        "nothing of the refused change was written"
    );
    assert_eq!(stock_of(products, &mug).await, 1);
    assert_eq!(
        movements_of(products, &mug, &placed).await,
        vec![
            (MovementReason::Order, -2, ActorKind::Customer),
            (MovementReason::OrderCancel, 2, ActorKind::Customer),
            (MovementReason::OrderReinstated, -2, ActorKind::Admin),
            (MovementReason::OrderCancel, 2, ActorKind::Admin),
        ]
    );
}

pub async fn concurrent_orders_sell_exactly_the_stock_and_no_shortage_fails_another(ports: Ports) {
    let orders: Arc<dyn OrderRepository> = ports.orders.clone();
    let products = ports.products.as_ref();
    let mut customers = Vec::new();
    for i in 0..8 {
        customers.push(customer(ports.users.as_ref(), &format!("c{i}@x.io")).await);
    }
    let hot = stored(products, "HOT-1", "Last units", 37).await;
    let cold = stored(products, "COLD-1", "Plenty", 1000).await;
    // One in ten asks for more than there will ever be: refused alone, whatever batch it
    // lands in. Lines name the two products in both orders, so that rows locked in the
    // order the lines give would deadlock.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let orders = orders.clone();
            let lines = match i % 10 {
                9 => vec![by_id(&cold, 1), by_id(&hot, 50)],
                n if n % 2 == 0 => vec![by_id(&hot, 1), by_id(&cold, 1)],
                _ => vec![by_id(&cold, 1), by_id(&hot, 1)],
            };
            let new = with_lines(customers[i % customers.len()], lines);
            tokio::spawn(async move { orders.insert(new).await })
        })
        .collect();
    let mut sold = Vec::new();
    let mut short = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(order) => sold.push(order),
            Err(DomainError::OutOfStock { .. }) => short += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(sold.len(), 37, "exactly the stock is sold");
    assert_eq!(short, 63);
    assert_eq!(stock_of(products, &hot).await, 0);
    assert_eq!(stock_of(products, &cold).await, 1000 - 37);
    for order in &sold {
        let moved: i64 = movements_of(products, &hot, order)
            .await
            .iter()
            .map(|(_, delta, _)| delta)
            .sum();
        assert_eq!(moved, -1, "order {} took one unit", order.id);
    }
}

pub async fn concurrent_repeats_of_a_keyed_order_for_the_last_unit_all_see_the_one_order(
    ports: Ports,
) {
    let ada = customer(ports.users.as_ref(), "ada@x.io").await;
    let last = stored(ports.products.as_ref(), "LAST-1", "The last one", 1).await;
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let orders = Arc::clone(&ports.orders);
            let new = with_lines(ada, vec![by_id(&last, 1)]);
            tokio::spawn(async move {
                orders
                    .insert_keyed(
                        new,
                        KeyClaim {
                            key: IdempotencyKey::parse("basket").expect("key"),
                            fingerprint: RequestFingerprint([3; 32]),
                            expires_at: Utc::now() + Duration::hours(24),
                        },
                    )
                    .await
            })
        })
        .collect();
    let mut inserted = Vec::new();
    let mut kept = Vec::new();
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(KeyedInsert::Inserted(order)) => inserted.push(order),
            Ok(KeyedInsert::Taken { kept: order, .. }) => kept.push(order),
            Err(refused) => panic!("a repeat must see the first request's order, not {refused}"),
        }
    }
    assert_eq!(inserted.len(), 1, "one order");
    assert!(
        kept.iter().all(|o| *o == inserted[0]),
        "every repeat sees it"
    );
    assert_eq!(stock_of(ports.products.as_ref(), &last).await, 0);
}
