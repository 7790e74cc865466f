use chrono::{DateTime, Utc};
use std::fmt;

use crate::{ActorKind, DomainError, OrderId, OrderStatus, UserId};

/// What an event of an order's history records. Its names and list come from this
/// declaration; the stores' schemas are tested against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum EventKind {
    /// The order was placed; the only kind without a `from` status.
    Created,
    /// The order moved to another status.
    StatusChanged,
    /// Its lines, address or note changed; its status did not.
    Edited,
    /// A shipment of it was recorded; its status did not change.
    Shipment,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = <EventKind as strum::VariantArray>::VARIANTS;

    /// The name on the wire and in the databases.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        crate::names::parse(raw, Self::ALL, Self::as_str, "kind")
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded change of an order: its history is these, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEvent {
    pub id: i64,
    pub order_id: OrderId,
    pub kind: EventKind,
    /// `None` only for the creation event.
    pub from: Option<OrderStatus>,
    /// Equal to `from` for an edit or a shipment.
    pub to: OrderStatus,
    pub actor: ActorKind,
    /// `None` for the system.
    pub actor_id: Option<UserId>,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_the_contracts_names() {
        let names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["created", "status_changed", "edited", "shipment"]);
        for &kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()).ok(), Some(kind));
        }
        assert!(EventKind::parse("deleted").is_err());
    }
}
