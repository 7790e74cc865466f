use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{DomainError, ItemDescription, OrderId};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    Dispatched,
    InTransit,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Created,
        OrderStatus::Dispatched,
        OrderStatus::InTransit,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    /// The status an order moves to by itself once this one has lasted one step.
    pub fn next(self) -> Option<OrderStatus> {
        match self {
            OrderStatus::Created => Some(OrderStatus::Dispatched),
            OrderStatus::Dispatched => Some(OrderStatus::InTransit),
            OrderStatus::InTransit => Some(OrderStatus::Delivered),
            OrderStatus::Delivered | OrderStatus::Cancelled => None,
        }
    }

    /// Terminal statuses never progress automatically.
    pub fn is_terminal(self) -> bool {
        self.next().is_none()
    }

    /// An owner may cancel until the order is delivered (or already cancelled).
    pub fn can_cancel(self) -> bool {
        !self.is_terminal()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::Dispatched => "dispatched",
            OrderStatus::InTransit => "in_transit",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                DomainError::Validation(
                    "status must be one of created, dispatched, in_transit, delivered, cancelled"
                        .to_owned(),
                )
            })
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub item_description: String,
    pub status: OrderStatus,
    /// Bumped by every change; the cache and compare-and-set rely on it.
    pub version: i64,
    /// When the order advances by itself; `None` once terminal.
    pub next_step_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An order about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub customer_id: i64,
    pub item_description: ItemDescription,
    pub created_at: DateTime<Utc>,
    pub next_step_at: DateTime<Utc>,
}

/// Who changed an order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    System,
    Customer(i64),
    Admin(i64),
}

impl Actor {
    pub fn kind(self) -> &'static str {
        match self {
            Actor::System => "system",
            Actor::Customer(_) => "customer",
            Actor::Admin(_) => "admin",
        }
    }

    pub fn user_id(self) -> Option<i64> {
        match self {
            Actor::System => None,
            Actor::Customer(id) | Actor::Admin(id) => Some(id),
        }
    }
}

/// One compare-and-set on an order: applied only if the order still has
/// `expected_version`, and recorded as an event in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub order_id: OrderId,
    pub expected_version: i64,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub next_step_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn automatic_progression_follows_the_lifecycle() {
        assert_eq!(Created.next(), Some(Dispatched));
        assert_eq!(Dispatched.next(), Some(InTransit));
        assert_eq!(InTransit.next(), Some(Delivered));
        assert_eq!(Delivered.next(), None);
        assert_eq!(Cancelled.next(), None);
    }

    #[test]
    fn only_non_terminal_orders_can_be_cancelled() {
        for s in OrderStatus::ALL {
            assert_eq!(
                s.can_cancel(),
                matches!(s, Created | Dispatched | InTransit),
                "{s}"
            );
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Ok(s));
        }
        assert!(
            matches!(OrderStatus::parse("shipped"), Err(DomainError::Validation(m)) if m.contains("status"))
        );
        assert!(OrderStatus::parse("Created").is_err());
    }
}
