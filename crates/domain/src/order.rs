use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{
    Caller, DomainError, ItemDescription, LedgerEntry, MovementReason, OrderDetails, OrderId,
    OrderRequest, OrderStockChange, StockMove, UserId,
};

/// Where an order is in its life. Declared once: the names the wire, the databases and the
/// pages use, the labels people read, the list and the parse message all come from here;
/// `next` says where each status moves by itself, `is_terminal` where an order ends.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::EnumMessage,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OrderStatus {
    #[strum(message = "created")]
    Created,
    #[strum(message = "dispatched")]
    Dispatched,
    #[strum(message = "in transit")]
    InTransit,
    #[strum(message = "delivered")]
    Delivered,
    #[strum(message = "cancelled")]
    Cancelled,
}

impl OrderStatus {
    /// Every status, in the order of the lifecycle.
    pub const ALL: &'static [OrderStatus] = <OrderStatus as strum::VariantArray>::VARIANTS;

    /// The status every order starts in.
    pub const INITIAL: OrderStatus = OrderStatus::Created;

    /// The status an order moves to by itself once this one has lasted one step.
    pub fn next(self) -> Option<OrderStatus> {
        match self {
            OrderStatus::Created => Some(OrderStatus::Dispatched),
            OrderStatus::Dispatched => Some(OrderStatus::InTransit),
            OrderStatus::InTransit => Some(OrderStatus::Delivered),
            OrderStatus::Delivered | OrderStatus::Cancelled => None,
        }
    }

    /// Whether an order in this status has ended: it can no longer be cancelled and its
    /// streams close. A status that does not advance by itself need not be terminal.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::Cancelled)
    }

    /// Whether the lifecycle moves an order on from this status after one step.
    pub fn advances_by_itself(self) -> bool {
        self.next().is_some()
    }

    /// An owner may cancel until the order is delivered (or already cancelled).
    pub fn can_cancel(self) -> bool {
        !self.is_terminal()
    }

    /// When an order that enters this status at `entered_at` moves on by itself: one step
    /// later, or never from a status that does not advance. The only place this rule is
    /// written.
    pub fn due_time(self, entered_at: DateTime<Utc>, step: Duration) -> Option<DateTime<Utc>> {
        self.advances_by_itself().then(|| entered_at + step)
    }

    /// The name on the wire, in the databases and in the pages' code.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        strum::EnumMessage::get_message(&self).unwrap_or_else(|| self.as_str())
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        crate::names::parse(raw, Self::ALL, Self::as_str, "status")
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order as stored. Changes are decided by its methods and applied by the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub customer_id: UserId,
    /// For an order with lines, the server's summary of them (`2 × Enamel mug`).
    pub item_description: ItemDescription,
    /// Lines, total, address and note (absent from orders stored before them).
    #[serde(default)]
    pub details: OrderDetails,
    pub status: OrderStatus,
    /// Bumped by every change; the cache and compare-and-set rely on it.
    pub version: i64,
    /// When the order advances by itself; `None` once terminal.
    #[serde(default, with = "crate::rfc3339::option")]
    pub next_step_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// The version a new order is stored with.
pub const FIRST_VERSION: i64 = 1;

/// How much every change raises an order's version; stores apply it as they are told.
pub const VERSION_STEP: i64 = 1;

impl Order {
    /// A new order for `customer`, to be stored exactly as decided here.
    /// Its contents are decided where it is stored (`OrderRequest::decide`).
    pub fn place(
        customer: UserId,
        request: OrderRequest,
        now: DateTime<Utc>,
        step: Duration,
    ) -> NewOrder {
        NewOrder {
            customer_id: customer,
            request,
            status: OrderStatus::INITIAL,
            version: FIRST_VERSION,
            next_step_at: OrderStatus::INITIAL.due_time(now, step),
            created_at: now,
            actor: Actor::Customer(customer),
        }
    }

    /// See `Caller::ensure_sees_orders_of`.
    pub fn ensure_visible_to(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_sees_orders_of(self.customer_id)
    }

    /// The owner cancels an order that is not yet delivered. Admins use `override_to`.
    pub fn cancel(
        &self,
        by: Caller,
        now: DateTime<Utc>,
        step: Duration,
    ) -> Result<StatusChange, DomainError> {
        self.ensure_visible_to(by)?;
        if self.customer_id != by.user_id {
            return Err(DomainError::Forbidden);
        }
        self.cancelled_by(Actor::Customer(by.user_id), now, step)
    }

    /// An admin cancels an order that is not yet delivered: the owner's rule with the
    /// admin's authority (bulk cancel). `override_to` is the admin's way to any status.
    pub fn cancel_as_admin(
        &self,
        by: Caller,
        now: DateTime<Utc>,
        step: Duration,
    ) -> Result<StatusChange, DomainError> {
        by.ensure_admin()?;
        self.cancelled_by(Actor::Admin(by.user_id), now, step)
    }

    fn cancelled_by(
        &self,
        actor: Actor,
        now: DateTime<Utc>,
        step: Duration,
    ) -> Result<StatusChange, DomainError> {
        let to = OrderStatus::Cancelled;
        if !self.status.can_cancel() {
            return Err(DomainError::InvalidTransition {
                from: self.status,
                to,
            });
        }
        Ok(self.change_to(to, actor, now, step))
    }

    /// An admin sets any status: a non-terminal one restarts its step, a terminal one stops
    /// progression, the current one changes nothing (`None`).
    pub fn override_to(
        &self,
        to: OrderStatus,
        by: Caller,
        now: DateTime<Utc>,
        step: Duration,
    ) -> Result<Option<StatusChange>, DomainError> {
        by.ensure_admin()?;
        if self.status == to {
            return Ok(None);
        }
        Ok(Some(self.change_to(
            to,
            Actor::Admin(by.user_id),
            now,
            step,
        )))
    }

    fn change_to(
        &self,
        to: OrderStatus,
        actor: Actor,
        now: DateTime<Utc>,
        step: Duration,
    ) -> StatusChange {
        let cancelled = OrderStatus::Cancelled;
        let stock = if to == cancelled {
            Some(OrderStockChange {
                reason: MovementReason::OrderCancel,
                deltas: self.details.returned_stock(),
            })
        } else if self.status == cancelled {
            Some(OrderStockChange {
                reason: MovementReason::OrderReinstated,
                deltas: self.details.taken_stock(),
            })
        } else {
            None
        };
        StatusChange {
            order_id: self.id,
            expected_version: self.version,
            new_version: self.version + VERSION_STEP,
            from: self.status,
            to,
            actor,
            at: now,
            next_step_at: to.due_time(now, step),
            stock: stock.filter(|s| !s.deltas.is_empty()),
        }
    }
}

/// An order about to be stored, every field decided by `Order::place` but its contents,
/// which its request decides against the catalog as the storing transaction holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub customer_id: UserId,
    pub request: OrderRequest,
    pub status: OrderStatus,
    pub version: i64,
    pub next_step_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Recorded as the creation event's actor.
    pub actor: Actor,
}

/// Who changed an order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    System,
    Customer(UserId),
    Admin(UserId),
}

/// The kind of actor, as history records it. Its names and list come from this declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum ActorKind {
    System,
    Customer,
    Admin,
}

impl ActorKind {
    pub const ALL: &'static [ActorKind] = <ActorKind as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        crate::names::parse(raw, Self::ALL, Self::as_str, "actor")
    }
}

impl fmt::Display for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Actor {
    pub fn kind(self) -> ActorKind {
        match self {
            Actor::System => ActorKind::System,
            Actor::Customer(_) => ActorKind::Customer,
            Actor::Admin(_) => ActorKind::Admin,
        }
    }

    pub fn user_id(self) -> Option<UserId> {
        match self {
            Actor::System => None,
            Actor::Customer(id) | Actor::Admin(id) => Some(id),
        }
    }
}

/// One decided change of one order: applied only if the order still has
/// `expected_version`, and recorded as an event in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub order_id: OrderId,
    pub expected_version: i64,
    pub new_version: i64,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub next_step_at: Option<DateTime<Utc>>,
    /// What the change returns to stock (a cancellation) or takes again (leaving
    /// `cancelled`), in the same transaction; `None` when it moves no stock.
    pub stock: Option<OrderStockChange>,
}

impl StatusChange {
    /// The movements `stock` decided for this change, for the ledger.
    pub fn ledger(&self, moves: Vec<StockMove>) -> Vec<LedgerEntry> {
        let Some(stock) = &self.stock else {
            return Vec::new();
        };
        moves
            .into_iter()
            .map(|movement| LedgerEntry {
                movement,
                reason: stock.reason,
                order_id: self.order_id,
                actor: self.actor,
                at: self.at,
            })
            .collect()
    }
}

/// One row of the automatic progression: an order due in `from` moves to `to` and is next
/// due at `next_step_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutomaticStep {
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub next_step_at: Option<DateTime<Utc>>,
}

/// An order as an automatic step left it, and when that step had been due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvancedOrder {
    pub order: Order,
    pub was_due_at: DateTime<Utc>,
}

/// Everything the store needs to move a batch of due orders on at `now`: the whole step
/// table as data, so that it is applied set-based, and who is recorded as having done it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSteps {
    pub now: DateTime<Utc>,
    pub steps: Vec<AutomaticStep>,
    pub actor: Actor,
    /// Added to each moved order's version, as every change does.
    pub version_step: i64,
}

impl DueSteps {
    pub fn at(now: DateTime<Utc>, step: Duration) -> Self {
        let steps = OrderStatus::ALL
            .iter()
            .copied()
            .filter_map(|from| {
                from.next().map(|to| AutomaticStep {
                    from,
                    to,
                    next_step_at: to.due_time(now, step),
                })
            })
            .collect();
        Self {
            now,
            steps,
            actor: Actor::System,
            version_step: VERSION_STEP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;
    use crate::services::fixtures::{admin, customer, order, T0};

    const STEP: Duration = Duration::seconds(15);

    #[test]
    fn automatic_progression_follows_the_lifecycle() {
        assert_eq!(Created.next(), Some(Dispatched));
        assert_eq!(Dispatched.next(), Some(InTransit));
        assert_eq!(InTransit.next(), Some(Delivered));
        assert_eq!(Delivered.next(), None);
        assert_eq!(Cancelled.next(), None);
    }

    #[test]
    fn only_delivered_and_cancelled_orders_cannot_be_cancelled() {
        for &s in OrderStatus::ALL {
            assert_eq!(s.can_cancel(), !matches!(s, Delivered | Cancelled), "{s}");
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for &s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()).ok(), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", s.as_str()),
                "serde names {s:?} alike"
            );
        }
        let Err(DomainError::Validation(refusal)) = OrderStatus::parse("shipped") else {
            panic!("an unknown status is a validation error");
        };
        assert!(refusal.starts_with("status must be one of created, dispatched, "));
        for &s in OrderStatus::ALL {
            assert!(refusal.contains(s.as_str()), "{refusal} names {s}");
        }
        assert!(OrderStatus::parse("Created").is_err());
        assert_eq!(InTransit.label(), "in transit");
    }

    #[test]
    fn terminal_statuses_never_advance_and_the_timer_moves_the_three_before_delivery() {
        for &s in OrderStatus::ALL {
            assert!(!(s.is_terminal() && s.advances_by_itself()), "{s}");
        }
        let advancing: Vec<_> = OrderStatus::ALL
            .iter()
            .filter(|s| s.advances_by_itself())
            .collect();
        assert_eq!(advancing, [&Created, &Dispatched, &InTransit]);
    }

    #[test]
    fn a_placed_order_is_created_at_version_one_due_one_step_later_by_its_customer() {
        let customer = UserId::parse(7).unwrap();
        let item = ItemDescription::parse("Laptop").unwrap();
        let new = Order::place(customer, OrderRequest::free_text(item), T0, STEP);
        assert_eq!(new.status, Created);
        assert_eq!(new.version, FIRST_VERSION);
        assert_eq!(new.next_step_at, Some(T0 + STEP));
        assert_eq!(new.created_at, T0);
        assert_eq!(new.actor, Actor::Customer(customer));
    }

    #[test]
    fn a_cancel_bumps_the_version_stops_progression_and_names_the_owner() {
        let change = order(1, 7, InTransit, 3)
            .cancel(customer(7), T0, STEP)
            .unwrap();
        assert_eq!(
            (
                change.from,
                change.to,
                change.expected_version,
                change.new_version
            ),
            (InTransit, Cancelled, 3, 4)
        );
        assert_eq!(change.next_step_at, None);
        assert_eq!(change.actor, Actor::Customer(UserId::parse(7).unwrap()));
        assert_eq!(change.at, T0);
    }

    #[test]
    fn only_the_owner_cancels_others_learn_nothing_and_admins_are_sent_elsewhere() {
        let o = order(1, 7, Created, 1);
        assert!(matches!(
            o.cancel(customer(8), T0, STEP),
            Err(DomainError::NotFound("order"))
        ));
        assert!(matches!(
            o.cancel(admin(1), T0, STEP),
            Err(DomainError::Forbidden)
        ));
    }

    #[test]
    fn terminal_orders_cannot_be_cancelled() {
        for status in [Delivered, Cancelled] {
            assert!(matches!(
                order(1, 7, status, 4).cancel(customer(7), T0, STEP),
                Err(DomainError::InvalidTransition { from, to: Cancelled }) if from == status
            ));
        }
    }

    #[test]
    fn an_admin_cancel_follows_the_owners_rule_under_the_admins_name() {
        let change = order(1, 7, Dispatched, 2)
            .cancel_as_admin(admin(1), T0, STEP)
            .unwrap();
        assert_eq!((change.from, change.to), (Dispatched, Cancelled));
        assert_eq!(change.actor, Actor::Admin(UserId::parse(1).unwrap()));
        assert_eq!(change.next_step_at, None);
        for status in [Delivered, Cancelled] {
            assert!(matches!(
                order(1, 7, status, 4).cancel_as_admin(admin(1), T0, STEP),
                Err(DomainError::InvalidTransition { from, to: Cancelled }) if from == status
            ));
        }
        assert!(matches!(
            order(1, 7, Created, 1).cancel_as_admin(customer(7), T0, STEP),
            Err(DomainError::Forbidden)
        ));
    }

    #[test]
    fn an_override_restarts_a_non_terminal_step_stops_a_terminal_one_and_ignores_the_current() {
        let o = order(1, 7, InTransit, 3);
        let revived = o.override_to(Created, admin(1), T0, STEP).unwrap().unwrap();
        assert_eq!(revived.next_step_at, Some(T0 + STEP));
        assert_eq!(revived.actor, Actor::Admin(UserId::parse(1).unwrap()));
        assert_eq!(revived.new_version, 4);
        let stopped = o
            .override_to(Delivered, admin(1), T0, STEP)
            .unwrap()
            .unwrap();
        assert_eq!(stopped.next_step_at, None);
        assert_eq!(
            o.override_to(InTransit, admin(1), T0, STEP).ok(),
            Some(None)
        );
    }

    fn with_lines(status: OrderStatus) -> Order {
        let eur = crate::Currency::parse("EUR").unwrap();
        let line = |product: i64, units: i64| crate::OrderLine {
            product_id: crate::ProductId::parse(product).unwrap(),
            sku: format!("S{product}"),
            name: format!("P{product}"),
            quantity: crate::Quantity::parse(units, "quantity").unwrap(),
            unit_price: crate::Money::new(100, eur),
            line_total: crate::Money::new(100 * units, eur),
        };
        Order {
            details: OrderDetails {
                lines: vec![line(9, 2), line(4, 1)],
                total: Some(crate::Money::new(300, eur)),
                ..OrderDetails::default()
            },
            ..order(1, 7, status, 2)
        }
    }

    fn deltas(change: &StatusChange) -> Option<(MovementReason, Vec<(i64, i64)>)> {
        change.stock.as_ref().map(|s| {
            (
                s.reason,
                s.deltas
                    .iter()
                    .map(|d| (d.product_id.get(), d.delta))
                    .collect(),
            )
        })
    }

    #[test]
    fn cancelling_returns_the_units_and_leaving_cancelled_takes_them_again_in_id_order() {
        let cancel = with_lines(Dispatched)
            .cancel(customer(7), T0, STEP)
            .unwrap();
        assert_eq!(
            deltas(&cancel),
            Some((MovementReason::OrderCancel, vec![(4, 1), (9, 2)]))
        );
        let by_admin = with_lines(Created)
            .override_to(Cancelled, admin(1), T0, STEP)
            .unwrap()
            .unwrap();
        assert_eq!(deltas(&by_admin), deltas(&cancel));
        let reinstated = with_lines(Cancelled)
            .override_to(InTransit, admin(1), T0, STEP)
            .unwrap()
            .unwrap();
        assert_eq!(
            deltas(&reinstated),
            Some((MovementReason::OrderReinstated, vec![(4, -1), (9, -2)]))
        );
        let moved_on = with_lines(Created)
            .override_to(Delivered, admin(1), T0, STEP)
            .unwrap()
            .unwrap();
        assert_eq!(deltas(&moved_on), None, "only cancelled holds no stock");
        let free_text = order(1, 7, Created, 1)
            .cancel(customer(7), T0, STEP)
            .unwrap();
        assert_eq!(deltas(&free_text), None, "a free-text order moves no stock");
    }

    #[test]
    fn customers_cannot_override() {
        assert!(matches!(
            order(1, 7, Created, 1).override_to(Delivered, customer(7), T0, STEP),
            Err(DomainError::Forbidden)
        ));
    }

    #[test]
    fn the_step_table_covers_every_non_terminal_status_and_ends_progression_at_the_last() {
        let due = DueSteps::at(T0, STEP);
        assert_eq!(due.actor, Actor::System);
        let froms: Vec<_> = due.steps.iter().map(|s| s.from).collect();
        assert_eq!(froms, vec![Created, Dispatched, InTransit]);
        for s in &due.steps {
            assert_eq!(Some(s.to), s.from.next());
            assert_eq!(
                s.next_step_at.is_none(),
                !s.to.advances_by_itself(),
                "{s:?}"
            );
        }
    }
}
