//! An order's lines: what a customer asks for, priced from the catalog as it is at that
//! moment, and the stock each placement, edit, cancellation or reinstatement moves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::invalid;

use crate::{
    Currency, DomainError, ItemDescription, Money, MoneyError, Product, ProductId, Sku, StockDelta,
};

/// How a line names its product: by id or by sku, exactly one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductRef {
    Id(ProductId),
    Sku(Sku),
}

/// Units of a product on one line: 1–1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl TryFrom<u32> for Quantity {
    type Error = DomainError;

    fn try_from(units: u32) -> Result<Self, DomainError> {
        Self::parse(i64::from(units), "quantity")
    }
}

impl From<Quantity> for u32 {
    fn from(quantity: Quantity) -> u32 {
        quantity.0
    }
}

impl Quantity {
    pub const MAX: u32 = 1000;

    pub fn parse(units: i64, field: &str) -> Result<Self, DomainError> {
        u32::try_from(units)
            .ok()
            .filter(|u| (1..=Self::MAX).contains(u))
            .map(Self)
            .ok_or_else(|| invalid(format!("{field} must be 1–{}", Self::MAX)))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// One line as a client asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub product: ProductRef,
    pub quantity: Quantity,
}

/// 1–100 lines, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequests(Vec<LineRequest>);

impl LineRequests {
    pub const MAX: usize = 100;

    pub fn parse(lines: Vec<LineRequest>) -> Result<Self, DomainError> {
        if lines.is_empty() || lines.len() > Self::MAX {
            return Err(invalid(format!("lines must hold 1–{} lines", Self::MAX)));
        }
        Ok(Self(lines))
    }

    pub fn as_slice(&self) -> &[LineRequest] {
        &self.0
    }
}

/// A line as sold: the product as it was named and priced at that moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub line_total: Money,
}

/// Lines priced from the catalog: what the order keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLines {
    pub lines: Vec<OrderLine>,
    pub currency: Currency,
    pub total: Money,
    /// `2 × Enamel mug, 1 × Desk lamp`, cut at 1000 characters: v1 clients read this.
    pub summary: ItemDescription,
}

fn too_large(field: String) -> impl FnOnce(MoneyError) -> DomainError {
    move |e| invalid(format!("{field}: {e}"))
}

impl PricedLines {
    /// Prices every line from `catalog` (the products the lines name, as read where the
    /// order is stored). An unknown or inactive product, a product named twice, or products
    /// in different currencies are refused naming the line.
    pub fn price(requests: &LineRequests, catalog: &[Product]) -> Result<Self, DomainError> {
        let mut lines: Vec<OrderLine> = Vec::with_capacity(requests.as_slice().len());
        let mut currency: Option<Currency> = None;
        for (i, request) in requests.as_slice().iter().enumerate() {
            let field = format!("lines[{i}]");
            let product = catalog
                .iter()
                .find(|p| match &request.product {
                    ProductRef::Id(id) => p.id == *id,
                    ProductRef::Sku(sku) => p.sku.key() == sku.key(),
                })
                .filter(|p| p.active)
                .ok_or_else(|| invalid(format!("{field}: no such product")))?;
            if lines.iter().any(|l| l.product_id == product.id) {
                return Err(invalid(format!(
                    "{field}: {} is already on another line",
                    product.sku.as_str()
                )));
            }
            let line_currency = product.price.currency();
            if currency.is_some_and(|c| c != line_currency) {
                return Err(invalid(format!(
                    "{field}: {} is priced in {line_currency}, the other lines are not",
                    product.sku.as_str()
                )));
            }
            currency = Some(line_currency);
            let line_total = product
                .price
                .checked_times(request.quantity.get())
                .map_err(too_large(field))?;
            lines.push(OrderLine {
                product_id: product.id,
                sku: product.sku.as_str().to_owned(),
                name: product.name.as_str().to_owned(),
                quantity: request.quantity,
                unit_price: product.price,
                line_total,
            });
        }
        let currency = currency.ok_or_else(|| invalid("lines must not be empty"))?;
        let total = lines.iter().try_fold(Money::zero(currency), |sum, line| {
            sum.checked_add(line.line_total)
                .map_err(too_large("total".to_owned()))
        })?;
        Ok(Self {
            summary: summary(&lines)?,
            lines,
            currency,
            total,
        })
    }
}

/// `2 × Enamel mug, 1 × Desk lamp`, cut at the 1000 characters an item description holds.
fn summary(lines: &[OrderLine]) -> Result<ItemDescription, DomainError> {
    let full = lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity.get(), l.name))
        .collect::<Vec<_>>()
        .join(", ");
    let cut: String = full.chars().take(1000).collect();
    ItemDescription::parse(&cut)
}

/// Units of each product the lines hold.
fn units(lines: &[OrderLine]) -> BTreeMap<ProductId, i64> {
    let mut units = BTreeMap::new();
    for line in lines {
        *units.entry(line.product_id).or_insert(0) += i64::from(line.quantity.get());
    }
    units
}

/// `sign` × the lines' units, per product in id order: the order every transaction takes
/// product rows in, so that two orders never wait for each other's rows.
fn deltas(lines: &[OrderLine], sign: i64) -> Vec<StockDelta> {
    units(lines)
        .into_iter()
        .map(|(product_id, units)| StockDelta {
            product_id,
            delta: sign * units,
        })
        .collect()
}

/// What placing (or reinstating) an order with these lines takes from stock.
pub fn taken(lines: &[OrderLine]) -> Vec<StockDelta> {
    deltas(lines, -1)
}

/// What cancelling an order with these lines gives back.
pub fn returned(lines: &[OrderLine]) -> Vec<StockDelta> {
    deltas(lines, 1)
}

/// What replacing `old` lines by `new` ones moves: the difference per product, in id
/// order, without the products whose units did not change.
pub fn edited(old: &[OrderLine], new: &[OrderLine]) -> Vec<StockDelta> {
    let mut change = units(old);
    for (product_id, units) in units(new) {
        *change.entry(product_id).or_insert(0) -= units;
    }
    change
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .map(|(product_id, delta)| StockDelta { product_id, delta })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fixtures::T0;
    use crate::{ProductDescription, ProductName, Stock};
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn product(id: i64, sku: &str, name: &str, price: i64, currency: Currency) -> Product {
        Product {
            id: ProductId::parse(id).unwrap(),
            sku: Sku::parse(sku).unwrap(),
            name: ProductName::parse(name).unwrap(),
            description: ProductDescription::default(),
            price: Money::new(price, currency),
            stock: Stock::parse(10).unwrap(),
            active: true,
            created_at: T0,
            updated_at: T0,
        }
    }

    fn catalog() -> Vec<Product> {
        let mut retired = product(4, "OLD-1", "Retired", 100, eur());
        retired.active = false;
        vec![
            product(3, "MUG-01", "Enamel mug", 1250, eur()),
            product(7, "LAMP-7", "Desk lamp", 4999, eur()),
            retired,
            product(9, "YEN-9", "Fan", 900, Currency::parse("JPY").unwrap()),
        ]
    }

    fn by_id(id: i64, quantity: i64) -> LineRequest {
        LineRequest {
            product: ProductRef::Id(ProductId::parse(id).unwrap()),
            quantity: Quantity::parse(quantity, "quantity").unwrap(),
        }
    }

    fn by_sku(sku: &str, quantity: i64) -> LineRequest {
        LineRequest {
            product: ProductRef::Sku(Sku::parse(sku).unwrap()),
            quantity: Quantity::parse(quantity, "quantity").unwrap(),
        }
    }

    fn priced(lines: Vec<LineRequest>) -> Result<PricedLines, DomainError> {
        PricedLines::price(&LineRequests::parse(lines)?, &catalog())
    }

    fn refusal(lines: Vec<LineRequest>) -> String {
        match priced(lines) {
            Err(DomainError::Validation(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn lines_are_priced_from_the_catalog_and_summed() {
        let order = priced(vec![by_id(3, 2), by_sku("lamp-7", 1)]).unwrap();
        assert_eq!(order.total.minor(), 2 * 1250 + 4999);
        assert_eq!(order.currency, eur());
        assert_eq!(
            order.lines[1].sku, "LAMP-7",
            "the sku as the catalog writes it"
        );
        assert_eq!(order.lines[0].line_total.minor(), 2500);
        assert_eq!(order.summary.as_str(), "2 × Enamel mug, 1 × Desk lamp");
        assert_eq!(
            taken(&order.lines),
            vec![
                StockDelta {
                    product_id: ProductId::parse(3).unwrap(),
                    delta: -2
                },
                StockDelta {
                    product_id: ProductId::parse(7).unwrap(),
                    delta: -1
                },
            ]
        );
    }

    #[test]
    fn each_refusal_names_its_line() {
        assert_eq!(
            refusal(vec![by_id(3, 1), by_id(5, 1)]),
            "lines[1]: no such product"
        );
        assert_eq!(refusal(vec![by_id(4, 1)]), "lines[0]: no such product");
        assert!(refusal(vec![by_id(3, 1), by_sku("MUG-01", 2)])
            .starts_with("lines[1]: MUG-01 is already"));
        assert!(
            refusal(vec![by_id(3, 1), by_id(9, 1)]).starts_with("lines[1]: YEN-9 is priced in JPY")
        );
        assert!(refusal(vec![]).starts_with("lines must hold 1–100"));
        assert!(refusal(vec![by_id(3, 1); 101]).starts_with("lines must hold 1–100"));
        assert!(Quantity::parse(0, "lines[0].quantity").is_err());
        assert!(Quantity::parse(1001, "lines[0].quantity").is_err());
    }

    #[test]
    fn the_summary_is_cut_at_what_an_item_description_holds() {
        let long = "x".repeat(255);
        let products: Vec<Product> = (1..=10)
            .map(|i| product(i, &format!("S{i}"), &long, 1, eur()))
            .collect();
        let requests = LineRequests::parse((1..=10).map(|i| by_id(i, 1)).collect()).unwrap();
        let order = PricedLines::price(&requests, &products).unwrap();
        assert_eq!(order.summary.as_str().chars().count(), 1000);
    }

    fn line(product: i64, quantity: u32) -> OrderLine {
        OrderLine {
            product_id: ProductId::parse(product).unwrap(),
            sku: format!("S{product}"),
            name: format!("P{product}"),
            quantity: Quantity(quantity),
            unit_price: Money::new(100, eur()),
            line_total: Money::new(100 * i64::from(quantity), eur()),
        }
    }

    fn lines() -> impl Strategy<Value = Vec<OrderLine>> {
        proptest::collection::btree_map(1i64..20, 1u32..=1000, 0..8)
            .prop_map(|m| m.into_iter().map(|(p, q)| line(p, q)).collect())
    }

    proptest! {
        #[test]
        fn an_edit_moves_stock_from_the_old_reservation_to_the_new(old in lines(), new in lines()) {
            let stock = |taken: &[StockDelta]| {
                let mut held = BTreeMap::new();
                for d in taken {
                    *held.entry(d.product_id).or_insert(1_000_000i64) += d.delta;
                }
                held
            };
            let mut after_edit = stock(&taken(&old));
            let moves = edited(&old, &new);
            for d in &moves {
                prop_assert_ne!(d.delta, 0);
                *after_edit.entry(d.product_id).or_insert(1_000_000) += d.delta;
            }
            let mut direct = stock(&taken(&new));
            for (id, _) in after_edit.iter() {
                direct.entry(*id).or_insert(1_000_000);
            }
            prop_assert_eq!(after_edit, direct);
            prop_assert!(moves.windows(2).all(|w| w[0].product_id < w[1].product_id), "id order");
        }

        #[test]
        fn a_cancellation_gives_back_exactly_what_the_placement_took(old in lines()) {
            let back: Vec<i64> = returned(&old).iter().map(|d| d.delta).collect();
            let took: Vec<i64> = taken(&old).iter().map(|d| -d.delta).collect();
            prop_assert_eq!(back, took);
        }

        #[test]
        fn totals_within_the_contracts_bounds_never_overflow(
            prices in proptest::collection::vec(0i64..=crate::money::MAX_PRICE, 1..=100),
        ) {
            let products: Vec<Product> = prices
                .iter()
                .enumerate()
                .map(|(i, p)| product(i as i64 + 1, &format!("S{i}"), "P", *p, eur()))
                .collect();
            let requests = LineRequests::parse(
                (1..=prices.len() as i64).map(|i| by_id(i, 1000)).collect(),
            ).unwrap();
            let order = PricedLines::price(&requests, &products).unwrap();
            let expected: i128 = prices.iter().map(|p| i128::from(*p) * 1000).sum();
            prop_assert_eq!(i128::from(order.total.minor()), expected);
        }
    }
}
