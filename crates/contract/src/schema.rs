//! What each store's schema must agree with the domain on, for the tests that read the
//! schema itself: the names of the enums it stores, and the statuses in which an order
//! has no due time. A migration that forgets a status fails them.

use trachios_domain::{names, ActorKind, EventKind, MovementReason, OrderStatus, Role};

pub fn order_statuses() -> Vec<&'static str> {
    names::of(OrderStatus::ALL, OrderStatus::as_str)
}

/// The statuses the lifecycle never moves on from: an order in them has no due time.
pub fn statuses_without_due_time() -> Vec<&'static str> {
    let without: Vec<OrderStatus> = OrderStatus::ALL
        .iter()
        .copied()
        .filter(|s| !s.advances_by_itself())
        .collect();
    names::of(&without, OrderStatus::as_str)
}

pub fn roles() -> Vec<&'static str> {
    names::of(Role::ALL, Role::as_str)
}

pub fn movement_reasons() -> Vec<&'static str> {
    names::of(MovementReason::ALL, MovementReason::as_str)
}

pub fn event_kinds() -> Vec<&'static str> {
    names::of(EventKind::ALL, EventKind::as_str)
}

pub fn actors() -> Vec<&'static str> {
    names::of(ActorKind::ALL, ActorKind::as_str)
}

/// The single-quoted literals of `sql`, in order.
pub fn quoted(sql: &str) -> Vec<String> {
    sql.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The literals of the first `… IN (…)` list after `marker` in `sql`.
pub fn in_list_after(sql: &str, marker: &str) -> Vec<String> {
    let Some((_, rest)) = sql.split_once(marker) else {
        panic!("{marker:?} is not in {sql}");
    };
    let list = rest
        .split_once(" IN (")
        .and_then(|(_, list)| list.split_once(')'))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("no IN list after {marker:?} in {sql}"));
    quoted(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_are_read_after_their_marker() {
        let sql =
            "status TEXT CHECK (status IN ('a', 'b')), CHECK ((status IN ('b')) = (x IS NULL))";
        assert_eq!(in_list_after(sql, "status TEXT"), ["a", "b"]);
        assert_eq!(in_list_after(sql, "CHECK (("), ["b"]);
    }
}
