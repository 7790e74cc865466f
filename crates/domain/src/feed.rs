//! The change feed: every committed change of an order, as every process learns of it.

use std::sync::Arc;

use crate::{EventKind, Order, OrderId, UserId};

/// Which orders a subscriber hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedScope {
    Order(OrderId),
    Customer(UserId),
    All,
}

/// Which version of which customer's order a committed change left: what a cache shared by
/// several processes needs to know of every change (see `ports::ChangeWitness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedVersion {
    pub order_id: OrderId,
    pub customer_id: UserId,
    pub version: i64,
}

impl From<&Order> for CommittedVersion {
    fn from(order: &Order) -> Self {
        Self {
            order_id: order.id,
            customer_id: order.customer_id,
            version: order.version,
        }
    }
}

/// One committed change: the order as it left it, and what kind of change it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChange {
    pub order: Order,
    pub kind: EventKind,
}

/// What a subscription yields next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// An order as it was right after one committed change.
    Changed(Arc<OrderChange>),
    /// Nothing happened for the feed's keep-alive interval.
    Idle,
    /// Changes were dropped because the subscriber fell behind: whoever needs every change
    /// must re-read.
    Gap,
    /// The feed is closing (the process is shutting down); nothing follows.
    Closed,
}
