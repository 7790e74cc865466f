//! Builders shared by the services' unit tests.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::ports::MockClock;
use crate::{Caller, Order, OrderStatus, Role, User};

pub const T0: DateTime<Utc> = DateTime::from_timestamp_nanos(1_795_000_000_000_000_000);

pub fn fixed_clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(T0);
    Arc::new(clock)
}

pub fn user(id: i64, role: Role) -> User {
    let at = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or(T0);
    User {
        id,
        name: "Jo".into(),
        email: format!("u{id}@x.io"),
        role,
        created_at: at,
        updated_at: at,
    }
}

pub fn customer(id: i64) -> Caller {
    Caller {
        user_id: id,
        role: Role::Customer,
    }
}

pub fn admin(id: i64) -> Caller {
    Caller {
        user_id: id,
        role: Role::Admin,
    }
}

pub fn order(id: i64, customer_id: i64, status: OrderStatus, version: i64) -> Order {
    Order {
        id,
        customer_id,
        item_description: "Laptop".into(),
        status,
        version,
        next_step_at: if status.is_terminal() { None } else { Some(T0) },
        created_at: T0,
        updated_at: T0,
    }
}
