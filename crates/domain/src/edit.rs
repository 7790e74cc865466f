//! Editing an order while it is `created`: its lines (stock moves by the difference), its
//! address and its note, decided like a status change — against the version it was read
//! at, as one new version with one event — and priced against the products as the storing
//! transaction holds them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::lines::edited;
use crate::order::VERSION_STEP;
use crate::{
    Actor, Caller, Currency, DomainError, ItemDescription, LedgerEntry, LineRequests, LockedStock,
    Money, MovementReason, Order, OrderDetails, OrderId, OrderLine, OrderNote, OrderStatus,
    PricedLines, ProductRef, ShippingAddress, StockMove,
};

/// What an edit asks to change; a part left out stays as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderEdit {
    /// New lines, replacing every old one.
    pub lines: Option<LineRequests>,
    /// `Some(None)` removes the address.
    pub shipping_address: Option<Option<ShippingAddress>>,
    /// `Some(None)` removes the note.
    pub note: Option<Option<OrderNote>>,
}

impl OrderEdit {
    /// An edit must ask for something: an empty one is a client's mistake, not a new version.
    pub fn new(
        lines: Option<LineRequests>,
        shipping_address: Option<Option<ShippingAddress>>,
        note: Option<Option<OrderNote>>,
    ) -> Result<Self, DomainError> {
        if lines.is_none() && shipping_address.is_none() && note.is_none() {
            return Err(DomainError::Validation(
                "an edit names at least one of lines, shipping_address and note".into(),
            ));
        }
        Ok(Self {
            lines,
            shipping_address,
            note,
        })
    }
}

/// The status in which an order may still be edited: nothing of it has been picked yet.
pub const EDITABLE_STATUS: OrderStatus = OrderStatus::Created;

impl Order {
    /// The owner or an admin edits an order that has not left `created`. Whoever else asks
    /// learns nothing of it.
    pub fn edit(
        &self,
        by: Caller,
        edit: OrderEdit,
        now: DateTime<Utc>,
    ) -> Result<PendingEdit, DomainError> {
        self.ensure_visible_to(by)?;
        if self.status != EDITABLE_STATUS {
            return Err(DomainError::Conflict("order can no longer be changed"));
        }
        if edit.lines.is_some() && self.details.lines.is_empty() {
            return Err(DomainError::Conflict(
                "a free-text order has no lines to change; cancel it and place one with lines",
            ));
        }
        let actor = if by.is_admin() {
            Actor::Admin(by.user_id)
        } else {
            Actor::Customer(by.user_id)
        };
        Ok(PendingEdit {
            order_id: self.id,
            expected_version: self.version,
            new_version: self.version + VERSION_STEP,
            status: self.status,
            item_description: self.item_description.clone(),
            details: self.details.clone(),
            edit,
            actor,
            at: now,
        })
    }
}

/// An edit decided against the order as read: applied only if the order still has
/// `expected_version`, with one event of kind `edited` in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEdit {
    pub order_id: OrderId,
    pub expected_version: i64,
    pub new_version: i64,
    /// Unchanged by the edit; its event goes from and to it.
    pub status: OrderStatus,
    item_description: ItemDescription,
    details: OrderDetails,
    edit: OrderEdit,
    pub actor: Actor,
    pub at: DateTime<Utc>,
}

impl PendingEdit {
    /// What the order held before the edit, kept with the edit's event: what the order
    /// looked like at every earlier event.
    pub fn replaced(&self) -> ReplacedContents<'_> {
        let details = &self.details;
        ReplacedContents {
            item_description: self.item_description.as_str(),
            lines: &details.lines,
            currency: details.currency().map(Currency::code),
            total: details.total.map(Money::minor),
            shipping_address: details.shipping_address.as_deref(),
            note: details.note.as_ref().map(OrderNote::as_str),
        }
    }

    /// The products whose rows the storing transaction locks before deciding: those of the
    /// old lines (units may go back) and those the new lines name.
    pub fn named_products(&self) -> Vec<ProductRef> {
        let Some(requests) = &self.edit.lines else {
            return Vec::new();
        };
        let old = self
            .details
            .lines
            .iter()
            .map(|line| ProductRef::Id(line.product_id));
        old.chain(requests.as_slice().iter().map(|r| r.product.clone()))
            .collect()
    }

    /// The order's new contents priced from `stock`'s products, and the difference of units
    /// taken from (or given back to) them at once; nothing moves when it is refused.
    pub fn decide(&self, stock: &mut LockedStock) -> Result<EditedContents, DomainError> {
        let mut details = self.details.clone();
        if let Some(address) = &self.edit.shipping_address {
            details.shipping_address = address.clone().map(Box::new);
        }
        if let Some(note) = &self.edit.note {
            details.note = note.clone();
        }
        let Some(requests) = &self.edit.lines else {
            return Ok(EditedContents {
                item_description: self.item_description.clone(),
                details,
                movements: Vec::new(),
            });
        };
        let priced = PricedLines::price(requests, stock.products())?;
        let movements = stock.move_all(&edited(&self.details.lines, &priced.lines))?;
        details.lines = priced.lines;
        details.total = Some(priced.total);
        Ok(EditedContents {
            item_description: priced.summary,
            details,
            movements,
        })
    }
}

/// What an edit replaced, as both stores keep it with the edit's event: the order's contents
/// under the names of the order's columns, amounts in minor units, so that a store reads
/// each part back where it would read the column.
#[derive(Debug, Serialize)]
pub struct ReplacedContents<'a> {
    item_description: &'a str,
    lines: &'a [OrderLine],
    currency: Option<&'static str>,
    total: Option<i64>,
    shipping_address: Option<&'a ShippingAddress>,
    note: Option<&'a str>,
}

/// An edited order's contents as decided, and the stock the edit moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedContents {
    pub item_description: ItemDescription,
    pub details: OrderDetails,
    pub movements: Vec<StockMove>,
}

impl EditedContents {
    /// What the edit moved, for the ledger.
    pub fn ledger(&self, edit: &PendingEdit) -> Vec<LedgerEntry> {
        self.movements
            .iter()
            .map(|movement| LedgerEntry {
                movement: *movement,
                reason: MovementReason::OrderEdit,
                order_id: edit.order_id,
                actor: edit.actor,
                at: edit.at,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fixtures::{admin, customer, order, T0};
    use crate::{
        Currency, LineRequest, Money, OrderLine, Product, ProductDescription, ProductId,
        ProductName, Quantity, Sku, Stock,
    };
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn product(id: i64, stock: i64, price: i64) -> Product {
        Product {
            id: ProductId::parse(id).unwrap(),
            sku: Sku::parse(&format!("SKU-{id}")).unwrap(),
            name: ProductName::parse(&format!("Product {id}")).unwrap(),
            description: ProductDescription::default(),
            price: Money::new(price, eur()),
            stock: Stock::parse(stock).unwrap(),
            active: true,
            created_at: T0,
            updated_at: T0,
        }
    }

    /// An order of customer 7 holding `units` of each product at 100 a unit.
    fn holding(status: OrderStatus, units: &[(i64, u32)]) -> Order {
        let mut o = order(1, 7, status, 3);
        o.details.lines = units
            .iter()
            .map(|(id, n)| OrderLine {
                product_id: ProductId::parse(*id).unwrap(),
                sku: format!("SKU-{id}"),
                name: format!("Product {id}"),
                quantity: Quantity::parse(i64::from(*n), "quantity").unwrap(),
                unit_price: Money::new(100, eur()),
                line_total: Money::new(100 * i64::from(*n), eur()),
            })
            .collect();
        o.details.total = Some(Money::new(
            units.iter().map(|(_, n)| 100 * i64::from(*n)).sum(),
            eur(),
        ));
        o
    }

    fn lines(wanted: &[(i64, i64)]) -> LineRequests {
        LineRequests::parse(
            wanted
                .iter()
                .map(|(id, n)| LineRequest {
                    product: ProductRef::Id(ProductId::parse(*id).unwrap()),
                    quantity: Quantity::parse(*n, "quantity").unwrap(),
                })
                .collect(),
        )
        .unwrap()
    }

    fn relines(wanted: &[(i64, i64)]) -> OrderEdit {
        OrderEdit::new(Some(lines(wanted)), None, None).unwrap()
    }

    fn left(stock: &LockedStock) -> Vec<i64> {
        stock.products().iter().map(|p| p.stock.get()).collect()
    }

    #[test]
    fn new_lines_replace_the_old_priced_now_and_stock_moves_by_the_difference() {
        let o = holding(OrderStatus::Created, &[(1, 2), (2, 1)]);
        let edit = o.edit(customer(7), relines(&[(1, 3), (3, 1)]), T0).unwrap();
        assert_eq!((edit.expected_version, edit.new_version), (3, 4));
        let mut stock = LockedStock::new(vec![
            product(1, 5, 150),
            product(2, 0, 100),
            product(3, 1, 20),
        ]);
        let edited = edit.decide(&mut stock).unwrap();
        assert_eq!(
            left(&stock),
            [4, 1, 0],
            "one more of 1, 2 given back, 3 taken"
        );
        assert_eq!(edited.details.total.map(Money::minor), Some(3 * 150 + 20));
        assert_eq!(
            edited.item_description.as_str(),
            "3 × Product 1, 1 × Product 3"
        );
        let ledger = edited.ledger(&edit);
        let deltas: Vec<_> = ledger.iter().map(|l| l.movement.delta).collect();
        assert_eq!(deltas, [-1, 1, -1]);
        assert!(ledger
            .iter()
            .all(|l| l.reason == MovementReason::OrderEdit && l.actor == edit.actor));
    }

    #[test]
    fn an_edit_short_of_stock_moves_nothing() {
        let o = holding(OrderStatus::Created, &[(1, 1)]);
        let edit = o.edit(customer(7), relines(&[(1, 4)]), T0).unwrap();
        let mut stock = LockedStock::new(vec![product(1, 2, 100)]);
        let Err(DomainError::OutOfStock { left: 2, .. }) = edit.decide(&mut stock) else {
            panic!("three more units of a product with two left");
        };
        assert_eq!(left(&stock), [2]);
    }

    #[test]
    fn an_address_or_note_edit_keeps_the_lines_and_moves_no_stock() {
        let o = holding(OrderStatus::Created, &[(1, 2)]);
        let note = OrderNote::parse("Ring twice").unwrap();
        let edit = o
            .edit(
                admin(1),
                OrderEdit::new(None, Some(None), Some(note.clone())).unwrap(),
                T0,
            )
            .unwrap();
        assert_eq!(edit.actor, Actor::Admin(crate::UserId::parse(1).unwrap()));
        assert!(edit.named_products().is_empty());
        let edited = edit.decide(&mut LockedStock::new(vec![])).unwrap();
        assert_eq!(edited.details.lines, o.details.lines);
        assert_eq!(edited.details.note, note);
        assert!(edited.movements.is_empty());
    }

    #[test]
    fn only_a_created_order_with_lines_is_edited_and_only_by_its_owner_or_an_admin() {
        for status in OrderStatus::ALL.iter().filter(|s| **s != EDITABLE_STATUS) {
            let Err(DomainError::Conflict(why)) =
                holding(*status, &[(1, 1)]).edit(customer(7), relines(&[(1, 2)]), T0)
            else {
                panic!("an order in {status} was edited");
            };
            assert_eq!(why, "order can no longer be changed");
        }
        let o = holding(OrderStatus::Created, &[(1, 1)]);
        assert!(matches!(
            o.edit(customer(8), relines(&[(1, 2)]), T0),
            Err(DomainError::NotFound("order"))
        ));
        let free_text = order(2, 7, OrderStatus::Created, 1);
        assert!(matches!(
            free_text.edit(customer(7), relines(&[(1, 1)]), T0),
            Err(DomainError::Conflict(_))
        ));
        assert!(OrderEdit::new(None, None, None).is_err());
    }

    proptest! {
        /// Whatever the edits, the units an order holds plus those left in stock stay what
        /// they were: an edit neither makes nor loses a unit.
        #[test]
        fn edits_conserve_units(initial in 0i64..20, wanted in proptest::collection::vec(1i64..8, 1..30)) {
            let mut o = holding(OrderStatus::Created, &[(1, 1)]);
            let mut stock = LockedStock::new(vec![product(1, initial, 100)]);
            let held = |o: &Order| o.details.lines.iter().map(|l| i64::from(l.quantity.get())).sum::<i64>();
            for units in wanted {
                let edit = o.edit(customer(7), relines(&[(1, units)]), T0).unwrap();
                if let Ok(edited) = edit.decide(&mut stock) {
                    o.details = edited.details;
                    o.version = edit.new_version;
                }
                prop_assert_eq!(held(&o) + left(&stock)[0], initial + 1);
            }
        }
    }
}
