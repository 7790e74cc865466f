//! One change applied to many orders at once (`POST /orders/bulk`): each order is its own
//! compare-and-set through the decision its single endpoint makes, so one refused order
//! changes nothing else.

use chrono::{DateTime, Duration, Utc};

use crate::{DomainError, Order, OrderId, OrderStatus, RequestFingerprint};

/// The most orders one bulk request may name: its answer (each order rendered) stays under
/// a megabyte and the request under two seconds.
pub const MAX_BULK_IDS: usize = 1000;

/// How long a keyed bulk request holds its key while it runs. A repeat meanwhile is told to
/// wait; a repeat after it (the process that held the key died) runs the request again.
pub const BULK_KEY_LEASE: Duration = Duration::minutes(2);

/// What a bulk request does to each order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// What `Order::cancel_as_admin` allows: not a delivered or cancelled order.
    Cancel,
    /// What `Order::override_to` allows: any status, the current one a no-op.
    SetStatus(OrderStatus),
}

const CANCEL: &str = "cancel";
const SET_STATUS: &str = "set_status";

impl BulkAction {
    /// The actions' wire names.
    pub const NAMES: [&'static str; 2] = [CANCEL, SET_STATUS];

    /// `action` and `status` as a client sends them; a status only with `set_status`.
    pub fn parse(action: &str, status: Option<&str>) -> Result<Self, DomainError> {
        match (action, status) {
            (CANCEL, None) => Ok(Self::Cancel),
            (CANCEL, Some(_)) => Err(DomainError::Validation(format!(
                "status is only for action {SET_STATUS}"
            ))),
            (SET_STATUS, Some(status)) => OrderStatus::parse(status).map(Self::SetStatus),
            (SET_STATUS, None) => Err(DomainError::Validation(format!(
                "status is required with action {SET_STATUS}"
            ))),
            _ => Err(DomainError::Validation(format!(
                "action must be {CANCEL} or {SET_STATUS}"
            ))),
        }
    }
}

/// The orders of one bulk request, each named once, and what to do to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequest {
    ids: Vec<OrderId>,
    action: BulkAction,
}

impl BulkRequest {
    /// 1–`MAX_BULK_IDS` order ids, none twice: a repeated id would race itself, and which
    /// of its two results said `ok` would be chance.
    pub fn new(ids: &[i64], action: BulkAction) -> Result<Self, DomainError> {
        if ids.is_empty() || ids.len() > MAX_BULK_IDS {
            return Err(DomainError::Validation(format!(
                "ids must hold 1-{MAX_BULK_IDS} order ids"
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        let mut parsed = Vec::with_capacity(ids.len());
        for (at, raw) in ids.iter().enumerate() {
            let id = OrderId::parse(*raw).map_err(|_| {
                DomainError::Validation(format!("ids[{at}] must be a positive integer"))
            })?;
            if !seen.insert(id) {
                return Err(DomainError::Validation(format!(
                    "ids[{at}]: order {raw} is named twice"
                )));
            }
            parsed.push(id);
        }
        Ok(Self {
            ids: parsed,
            action,
        })
    }

    pub fn ids(&self) -> &[OrderId] {
        &self.ids
    }

    pub fn action(&self) -> BulkAction {
        self.action
    }
}

/// What became of one order of a bulk request.
#[derive(Debug)]
pub struct BulkItem {
    pub id: OrderId,
    /// The order as it is now, or why it was refused (nothing of it changed).
    pub outcome: Result<Order, DomainError>,
}

impl BulkItem {
    /// Whether `err` is this order's own refusal, reported beside the others, rather than a
    /// failure of the store that stops the whole request.
    pub fn refuses(err: &DomainError) -> bool {
        !matches!(err, DomainError::Unavailable(_) | DomainError::Internal(_))
    }
}

/// A claim on a key for one bulk request, as the store records it before the request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkClaim {
    pub key: crate::IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    /// When the claim was made: with the key, it names this claim, so that a process
    /// whose lease ran out cannot finish or release a claim another has taken over.
    pub claimed_at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the store did with a claim on a bulk request's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkKeyClaim {
    /// The key was free, expired, or held by a lease that ran out for the same request:
    /// it is this request's now.
    Claimed,
    /// An earlier request holds the key and was answered.
    Answered {
        fingerprint: RequestFingerprint,
        response: String,
    },
    /// An earlier request holds the key and is still running.
    Running { fingerprint: RequestFingerprint },
}

/// The answer to a bulk request under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAnswer {
    /// The request ran; this is its answer, kept for its repeats.
    Ran(String),
    /// The kept answer to an earlier request with the same key; nothing was changed.
    Replayed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_take_a_status_only_to_set_it() {
        assert_eq!(BulkAction::NAMES, ["cancel", "set_status"]);
        assert_eq!(
            BulkAction::parse("cancel", None).unwrap(),
            BulkAction::Cancel
        );
        assert_eq!(
            BulkAction::parse("set_status", Some("in_transit")).unwrap(),
            BulkAction::SetStatus(OrderStatus::InTransit)
        );
        for (action, status) in [
            ("cancel", Some("delivered")),
            ("set_status", None),
            ("set_status", Some("lost")),
            ("delete", None),
            ("", None),
        ] {
            assert!(
                matches!(
                    BulkAction::parse(action, status),
                    Err(DomainError::Validation(_))
                ),
                "{action} {status:?}"
            );
        }
    }

    #[test]
    fn a_request_names_one_to_a_thousand_orders_each_once() {
        let ids: Vec<i64> = (1..=1000).collect();
        let request = BulkRequest::new(&ids, BulkAction::Cancel).unwrap();
        assert_eq!(request.ids().len(), 1000);
        assert_eq!(request.ids()[999].get(), 1000, "in the order given");

        let refusal = |ids: &[i64]| match BulkRequest::new(ids, BulkAction::Cancel) {
            Err(DomainError::Validation(message)) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(refusal(&[]), "ids must hold 1-1000 order ids");
        let too_many: Vec<i64> = (1..=1001).collect();
        assert_eq!(refusal(&too_many), "ids must hold 1-1000 order ids");
        assert_eq!(refusal(&[3, 0]), "ids[1] must be a positive integer");
        assert_eq!(refusal(&[3, 4, 3]), "ids[2]: order 3 is named twice");
    }

    #[test]
    fn only_a_store_failure_stops_the_request() {
        assert!(BulkItem::refuses(&DomainError::NotFound("order")));
        assert!(BulkItem::refuses(&DomainError::Contended));
        assert!(BulkItem::refuses(&DomainError::InvalidTransition {
            from: OrderStatus::Delivered,
            to: OrderStatus::Cancelled
        }));
        assert!(!BulkItem::refuses(&DomainError::unavailable("down")));
        assert!(!BulkItem::refuses(&DomainError::internal("bug")));
    }
}
