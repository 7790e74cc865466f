//! The catalog and its stock ledger: skus unique without regard to case, searches the
//! domain's rule describes, and a stock that is always the sum of its movements and never
//! below zero, whatever runs at once.

use std::sync::Arc;

use chrono::Utc;
use trachios_domain::ports::ProductRepository;
use trachios_domain::{
    ActiveFilter, Actor, ActorKind, Currency, DomainError, Money, MovementReason, NewProduct,
    Product, ProductChanges, ProductDescription, ProductFilter, ProductName, ProductQuery, Sku,
    Stock, StockAdjustment, UserId,
};

use crate::Ports;

pub(crate) fn admin() -> Actor {
    Actor::Admin(UserId::parse(1).expect("id"))
}

fn new_product(sku: &str, name: &str, stock: i64) -> NewProduct {
    NewProduct {
        sku: Sku::parse(sku).expect("sku"),
        name: ProductName::parse(name).expect("name"),
        description: ProductDescription::parse("").expect("description"),
        price: Money::new(1250, Currency::parse("EUR").expect("EUR")),
        stock: Stock::parse(stock).expect("stock"),
        created_at: Utc::now(),
    }
}

pub(crate) async fn stored(
    products: &dyn ProductRepository,
    sku: &str,
    name: &str,
    stock: i64,
) -> Product {
    products
        .insert(new_product(sku, name, stock), admin())
        .await
        .expect("insert")
        .expect("a free sku")
}

/// The product's stock and the sum of its ledger, and whether `stock_after` chains.
pub(crate) async fn ledger(
    products: &dyn ProductRepository,
    product: &Product,
) -> (i64, i64, bool) {
    let now = products
        .find(product.id)
        .await
        .expect("find")
        .expect("exists");
    let mut movements = products
        .movements(product.id, None, 100_000)
        .await
        .expect("movements")
        .expect("exists");
    movements.reverse();
    let mut running = 0;
    let mut chained = true;
    for m in &movements {
        running += m.delta;
        chained &= m.stock_after.get() == running;
    }
    (now.stock.get(), running, chained)
}

pub async fn products_round_trip_and_skus_are_unique_without_regard_to_case(ports: Ports) {
    let products = ports.products.as_ref();
    let mug = stored(products, "MUG-01", "Enamel mug", 40).await;
    assert_eq!(mug.sku.as_str(), "MUG-01");
    assert_eq!(mug.price.minor(), 1250);
    assert_eq!(mug.price.currency().code(), "EUR");
    assert!(mug.active);
    assert_eq!(
        products.find(mug.id).await.expect("find"),
        Some(mug.clone())
    );
    let again = products
        .insert(new_product("mug-01", "Another", 1), admin())
        .await
        .expect("insert");
    assert_eq!(again, None, "the same sku in another case");
    // Created with stock: one adjustment movement by the creator.
    let movements = products
        .movements(mug.id, None, 10)
        .await
        .expect("movements")
        .expect("exists");
    assert_eq!(movements.len(), 1);
    assert_eq!(movements[0].delta, 40);
    assert_eq!(movements[0].reason, MovementReason::Adjustment);
    assert_eq!(movements[0].actor, ActorKind::Admin);
    let empty = stored(products, "EMPTY", "Nothing yet", 0).await;
    let none = products
        .movements(empty.id, None, 10)
        .await
        .expect("movements");
    assert_eq!(none, Some(vec![]), "no movement for no stock");
    let unknown = trachios_domain::ProductId::parse(999_999).expect("id");
    assert_eq!(
        products
            .movements(unknown, None, 10)
            .await
            .expect("movements"),
        None
    );
    assert_eq!(products.find(unknown).await.expect("find"), None);
}

pub async fn searches_match_what_the_domains_rule_says_and_pages_hold_every_product_once(
    ports: Ports,
) {
    let products = ports.products.as_ref();
    let mut all = Vec::new();
    for (sku, name) in [
        ("MUG-01", "Enamel mug"),
        ("MUG-02", "Stoneware Mug"),
        ("LAMP-7", "Desk lamp"),
        ("AB_1", "Under_score 100%"),
        ("CUP", "Teacup"),
        // Quotes and backslashes, which a tsquery's parser reads as its own syntax.
        ("OB-1", r"O'Brien's back\slash stand"),
    ] {
        all.push(stored(products, sku, name, 1).await);
    }
    let retired = all[2].clone();
    products
        .update(
            retired.id,
            &ProductChanges {
                active: Some(false),
                ..ProductChanges::default()
            },
            Utc::now(),
        )
        .await
        .expect("update")
        .expect("exists");
    let now_all: Vec<Product> = {
        let mut v = Vec::new();
        for p in &all {
            v.push(products.find(p.id).await.expect("find").expect("exists"));
        }
        v
    };
    for q in [
        "mug", "MUG-0", "mu", "lamp", "p-7", "cup", "_1", "e_s", "100%", "%", "zzz", "a", "n's",
        r"k\s", "':*", "b-1", "ob-",
    ] {
        for active in [
            ActiveFilter::Active,
            ActiveFilter::Inactive,
            ActiveFilter::Any,
        ] {
            let query = ProductQuery::parse(q).expect("query");
            let filter = ProductFilter {
                active,
                q: Some(query.clone()),
            };
            let got: Vec<String> = products
                .list(&filter, None, 100)
                .await
                .expect("list")
                .into_iter()
                .map(|p| p.sku.as_str().to_owned())
                .collect();
            let expected: Vec<String> = now_all
                .iter()
                .rev()
                .filter(|p| active.keeps(p.active) && query.matches(p))
                .map(|p| p.sku.as_str().to_owned())
                .collect();
            assert_eq!(got, expected, "q={q:?} active={active:?}");
        }
    }
    // Pages of two, newest first, every product once.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = products
            .list(
                &ProductFilter {
                    active: ActiveFilter::Any,
                    q: None,
                },
                before,
                2,
            )
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        before = page.last().map(|p| p.id.get());
        seen.extend(page.into_iter().map(|p| p.id));
    }
    let expected: Vec<_> = all.iter().rev().map(|p| p.id).collect();
    assert_eq!(seen, expected);
}

pub async fn a_product_update_changes_only_the_named_fields(ports: Ports) {
    let products = ports.products.as_ref();
    let mug = stored(products, "MUG-01", "Enamel mug", 3).await;
    let later = mug.created_at + chrono::Duration::seconds(5);
    let changed = products
        .update(
            mug.id,
            &ProductChanges {
                price: Some(990),
                description: Some(ProductDescription::parse("Blue").expect("text")),
                ..ProductChanges::default()
            },
            later,
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(changed.price.minor(), 990);
    assert_eq!(changed.price.currency().code(), "EUR");
    assert_eq!(changed.description.as_str(), "Blue");
    assert_eq!(changed.name, mug.name);
    assert_eq!(changed.stock, mug.stock);
    assert_eq!(changed.updated_at, later);
    let unknown = trachios_domain::ProductId::parse(999_999).expect("id");
    let none = products
        .update(unknown, &ProductChanges::default(), later)
        .await
        .expect("update");
    assert_eq!(none, None);
}

pub async fn a_stock_adjustment_never_takes_stock_below_zero_and_is_in_the_ledger(ports: Ports) {
    let products = ports.products.as_ref();
    let lamp = stored(products, "LAMP-7", "Desk lamp", 2).await;
    let take = |n: i64| StockAdjustment::parse(n, "count").expect("adjustment");
    let after = products
        .adjust_stock(lamp.id, &take(-1), admin(), Utc::now())
        .await
        .expect("adjust")
        .expect("exists");
    assert_eq!(after.stock.get(), 1);
    let short = products
        .adjust_stock(lamp.id, &take(-2), admin(), Utc::now())
        .await;
    match short {
        Err(DomainError::OutOfStock { sku, left }) => {
            assert_eq!((sku.as_str(), left), ("LAMP-7", 1))
        }
        other => panic!("expected out of stock, got {other:?}"),
    }
    let movements = products
        .movements(lamp.id, None, 10)
        .await
        .expect("movements")
        .expect("exists");
    assert_eq!(movements.len(), 2, "the refusal wrote nothing");
    assert_eq!(movements[0].delta, -1);
    assert_eq!(movements[0].note.as_deref(), Some("count"));
    assert_eq!(movements[0].stock_after.get(), 1);
    assert_eq!(ledger(products, &lamp).await, (1, 1, true));
    let unknown = trachios_domain::ProductId::parse(999_999).expect("id");
    assert_eq!(
        products
            .adjust_stock(unknown, &take(1), admin(), Utc::now())
            .await
            .expect("adjust"),
        None
    );
}

pub async fn concurrent_takes_sell_exactly_the_stock_and_the_ledger_balances(ports: Ports) {
    let products: Arc<dyn ProductRepository> = ports.products.clone();
    let hot = stored(products.as_ref(), "HOT-1", "Last units", 37).await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let products = products.clone();
            let id = hot.id;
            tokio::spawn(async move {
                // Some give back while others take.
                let delta = if i % 10 == 9 { 1 } else { -1 };
                let adjustment = StockAdjustment::parse(delta, "race").expect("adjustment");
                products
                    .adjust_stock(id, &adjustment, admin(), Utc::now())
                    .await
            })
        })
        .collect();
    let mut taken = 0;
    let mut given = 0;
    let mut refused = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.expect("task") {
            Ok(Some(_)) if i % 10 == 9 => given += 1,
            Ok(Some(_)) => taken += 1,
            Err(DomainError::OutOfStock { .. }) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(given, 6);
    assert_eq!(taken + refused, 54);
    assert!(taken <= 37 + given, "took {taken} of 37 + {given}");
    let (stock, sum, chained) = ledger(products.as_ref(), &hot).await;
    assert_eq!(stock, 37 + given - taken);
    assert!(stock >= 0);
    assert_eq!(sum, stock, "the ledger sums to the stock");
    assert!(chained, "stock_after forms an unbroken chain");
}
