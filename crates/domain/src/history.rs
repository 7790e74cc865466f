use chrono::{DateTime, Utc};

use crate::{ActorKind, OrderId, OrderStatus, UserId};

/// One recorded status change of an order: its history is these, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub id: i64,
    pub order_id: OrderId,
    /// `None` only for the creation event.
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor: ActorKind,
    /// `None` for the system.
    pub actor_id: Option<UserId>,
    pub at: DateTime<Utc>,
}
