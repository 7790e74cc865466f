//! Placing an order, and every other change that moves stock: decided against the products
//! as the storing transaction holds them locked, so that prices are those of that moment and
//! no unit is sold twice.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::error::corrupt;
use crate::lines::{returned, taken};
use crate::{
    Actor, Currency, DomainError, ItemDescription, LineRequests, Money, MovementReason, NewOrder,
    OrderId, OrderLine, OrderNote, PricedLines, Product, ProductId, ProductRef, ShippingAddress,
    Stock, StockDelta,
};

/// What an order is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderItems {
    /// One line of free text, the v1 body: no lines, no price, no stock.
    FreeText(ItemDescription),
    /// Products of the catalog, priced when the order is stored.
    Lines(LineRequests),
}

/// Everything a customer asks for when placing an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub items: OrderItems,
    pub shipping_address: Option<ShippingAddress>,
    pub note: Option<OrderNote>,
}

impl OrderRequest {
    /// A v1 order: free text and nothing else.
    pub fn free_text(item: ItemDescription) -> Self {
        Self {
            items: OrderItems::FreeText(item),
            shipping_address: None,
            note: None,
        }
    }

    /// The products its lines name, for the store to read and lock.
    pub fn named_products(&self) -> impl Iterator<Item = &ProductRef> {
        let lines = match &self.items {
            OrderItems::FreeText(_) => [].as_slice(),
            OrderItems::Lines(lines) => lines.as_slice(),
        };
        lines.iter().map(|line| &line.product)
    }

    /// Whether storing it moves stock: it names products of the catalog.
    pub fn takes_stock(&self) -> bool {
        self.named_products().next().is_some()
    }

    /// The order's contents priced from `stock`'s products, and the units it takes from
    /// them, taken from `stock` at once: an order decided after it in the same transaction
    /// sees what this one left. Nothing is taken when it is refused.
    pub fn decide(&self, stock: &mut LockedStock) -> Result<PlacedContents, DomainError> {
        let details = OrderDetails {
            shipping_address: self.shipping_address.clone().map(Box::new),
            note: self.note.clone(),
            ..OrderDetails::default()
        };
        match &self.items {
            OrderItems::FreeText(item) => Ok(PlacedContents {
                item_description: item.clone(),
                details,
                movements: Vec::new(),
            }),
            OrderItems::Lines(requests) => {
                let priced = PricedLines::price(requests, &stock.products)?;
                let movements = stock.move_all(&taken(&priced.lines))?;
                Ok(PlacedContents {
                    item_description: priced.summary,
                    details: OrderDetails {
                        lines: priced.lines,
                        total: Some(priced.total),
                        ..details
                    },
                    movements,
                })
            }
        }
    }
}

/// What an order holds beside its status: the lines as sold and their total, where it
/// goes and what the customer asked. Empty for a free-text order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    pub lines: Vec<OrderLine>,
    /// The sum of the line totals; `None` for a free-text order.
    pub total: Option<Money>,
    /// Boxed: most orders are read and passed around far more often than their address.
    pub shipping_address: Option<Box<ShippingAddress>>,
    pub note: Option<OrderNote>,
}

impl OrderDetails {
    /// What giving the order up returns to stock.
    pub fn returned_stock(&self) -> Vec<StockDelta> {
        returned(&self.lines)
    }

    /// What taking the order up again takes from stock.
    pub fn taken_stock(&self) -> Vec<StockDelta> {
        taken(&self.lines)
    }

    /// The currency of the total; `None` for a free-text order.
    pub fn currency(&self) -> Option<Currency> {
        self.total.map(Money::currency)
    }

    /// The details as both stores keep them: the lines and the address as JSON documents
    /// (read by the adapters with serde, which checks every part again), the total as
    /// minor units beside its currency code, the note as text.
    pub fn from_stored(
        lines: Vec<OrderLine>,
        total: Option<i64>,
        currency: Option<&str>,
        shipping_address: Option<ShippingAddress>,
        note: Option<&str>,
    ) -> Result<Self, DomainError> {
        let total = match (total, currency) {
            (Some(minor), Some(code)) => Some(Money::new(minor, corrupt(Currency::parse(code))?)),
            (None, None) => None,
            _ => {
                return Err(DomainError::internal(
                    "an order's total is stored without its currency, or the other way round",
                ))
            }
        };
        Ok(Self {
            lines,
            total,
            shipping_address: shipping_address.map(Box::new),
            note: corrupt(note.map(OrderNote::parse).transpose())?.flatten(),
        })
    }
}

/// A placed order's contents as decided, and what it took from stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedContents {
    pub item_description: ItemDescription,
    pub details: OrderDetails,
    pub movements: Vec<StockMove>,
}

/// One product's stock as one change leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockMove {
    pub product_id: ProductId,
    pub delta: i64,
    pub stock_after: Stock,
}

/// A movement an order's change decided, with what the ledger records of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerEntry {
    pub movement: StockMove,
    pub reason: MovementReason,
    pub order_id: OrderId,
    pub actor: Actor,
    pub at: DateTime<Utc>,
}

impl PlacedContents {
    /// What the placement took, for the ledger, once the order has its id.
    pub fn ledger(&self, order: &NewOrder, id: OrderId) -> Vec<LedgerEntry> {
        self.movements
            .iter()
            .map(|movement| LedgerEntry {
                movement: *movement,
                reason: MovementReason::Order,
                order_id: id,
                actor: order.actor,
                at: order.created_at,
            })
            .collect()
    }
}

/// Units an order change moves, and why, for the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStockChange {
    pub reason: MovementReason,
    /// Per product, in id order.
    pub deltas: Vec<StockDelta>,
}

impl OrderStockChange {
    /// The products to lock, in the order every transaction locks them.
    pub fn product_ids(&self) -> Vec<ProductId> {
        self.deltas.iter().map(|d| d.product_id).collect()
    }
}

/// The products a transaction holds locked, as it moves their stock: each decision made
/// against it sees the movements decided before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedStock {
    products: Vec<Product>,
}

impl LockedStock {
    pub fn new(products: Vec<Product>) -> Self {
        Self { products }
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// Moves every delta or none; the first product that cannot move refuses the whole
    /// change (`OutOfStock`, `StockFull`).
    pub fn move_all(&mut self, deltas: &[StockDelta]) -> Result<Vec<StockMove>, DomainError> {
        let mut moves = Vec::with_capacity(deltas.len());
        for delta in deltas {
            let product = self
                .products
                .iter()
                .find(|p| p.id == delta.product_id)
                .ok_or_else(|| {
                    DomainError::internal(format!(
                        "product {} was not read before its stock moved",
                        delta.product_id
                    ))
                })?;
            moves.push(StockMove {
                product_id: product.id,
                delta: delta.delta,
                stock_after: product.stock.moved(delta.delta, &product.sku)?,
            });
        }
        for m in &moves {
            if let Some(product) = self.products.iter_mut().find(|p| p.id == m.product_id) {
                product.stock = m.stock_after;
            }
        }
        Ok(moves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fixtures::T0;
    use crate::{Currency, LineRequest, ProductDescription, ProductName, Quantity, Sku};
    use proptest::prelude::*;

    fn product(id: i64, stock: i64) -> Product {
        Product {
            id: ProductId::parse(id).unwrap(),
            sku: Sku::parse(&format!("SKU-{id}")).unwrap(),
            name: ProductName::parse(&format!("Product {id}")).unwrap(),
            description: ProductDescription::default(),
            price: Money::new(250, Currency::parse("EUR").unwrap()),
            stock: Stock::parse(stock).unwrap(),
            active: true,
            created_at: T0,
            updated_at: T0,
        }
    }

    fn lines(wanted: &[(i64, i64)]) -> OrderRequest {
        let lines = wanted
            .iter()
            .map(|(id, units)| LineRequest {
                product: ProductRef::Id(ProductId::parse(*id).unwrap()),
                quantity: Quantity::parse(*units, "quantity").unwrap(),
            })
            .collect();
        OrderRequest {
            items: OrderItems::Lines(LineRequests::parse(lines).unwrap()),
            shipping_address: None,
            note: None,
        }
    }

    fn left(stock: &LockedStock) -> Vec<i64> {
        stock.products().iter().map(|p| p.stock.get()).collect()
    }

    #[test]
    fn a_placement_takes_its_units_and_the_next_decision_sees_what_is_left() {
        let mut stock = LockedStock::new(vec![product(1, 3), product(2, 1)]);
        let placed = lines(&[(1, 2), (2, 1)]).decide(&mut stock).unwrap();
        assert_eq!(placed.details.total.map(Money::minor), Some(750));
        assert_eq!(
            placed.item_description.as_str(),
            "2 × Product 1, 1 × Product 2"
        );
        assert_eq!(left(&stock), [1, 0]);
        assert_eq!(placed.movements[0].stock_after.get(), 1);
        let Err(DomainError::OutOfStock { sku, left: units }) =
            lines(&[(1, 1), (2, 1)]).decide(&mut stock)
        else {
            panic!("the second order finds product 2 sold out");
        };
        assert_eq!((sku.as_str(), units), ("SKU-2", 0));
        assert_eq!(left(&stock), [1, 0], "a refused order takes nothing");
        assert!(lines(&[(1, 1)]).decide(&mut stock).is_ok());
        assert_eq!(left(&stock), [0, 0]);
    }

    #[test]
    fn a_free_text_order_moves_no_stock_and_keeps_its_text() {
        let mut stock = LockedStock::new(vec![]);
        let item = ItemDescription::parse("Laptop").unwrap();
        let placed = OrderRequest::free_text(item.clone())
            .decide(&mut stock)
            .unwrap();
        assert_eq!(placed.item_description, item);
        assert_eq!(placed.details, OrderDetails::default());
        assert!(placed.movements.is_empty());
    }

    proptest! {
        /// Orders decided one after another against one stock: exactly as many units are
        /// sold as there were, never more, and what is left is what was not sold.
        #[test]
        fn no_unit_is_sold_twice(initial in 0i64..50, wanted in proptest::collection::vec(1i64..5, 0..40)) {
            let mut stock = LockedStock::new(vec![product(1, initial)]);
            let mut sold = 0;
            for units in wanted {
                if let Ok(placed) = lines(&[(1, units)]).decide(&mut stock) {
                    sold += units;
                    prop_assert_eq!(placed.movements[0].stock_after.get(), initial - sold);
                }
            }
            prop_assert!(sold <= initial);
            prop_assert_eq!(left(&stock), vec![initial - sold]);
        }
    }
}
