//! Builders shared by the domain's unit tests.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};

use crate::ports::{MockClock, MockOrderCache, MockOrderRepository, OrderRenderer};
use crate::services::OrderService;
use crate::{
    render_order, Caller, DomainError, Email, ItemDescription, Name, Order, OrderId, OrderStatus,
    RenderedOrder, Role, User, UserId,
};

pub const T0: DateTime<Utc> = DateTime::from_timestamp_nanos(1_795_000_000_000_000_000);

/// The step the order services of these tests are built with.
pub const STEP: Duration = Duration::seconds(15);

/// A cache that holds nothing and takes every update.
pub fn quiet_cache() -> MockOrderCache {
    let mut cache = MockOrderCache::new();
    cache.expect_get().returning(|_| Ok(None));
    cache.expect_put().returning(|_| Ok(()));
    cache.expect_replace().returning(|_| Ok(()));
    cache
}

/// An order service over the mocks, at `T0`, with `STEP`.
pub fn order_service(repo: MockOrderRepository, cache: MockOrderCache) -> OrderService {
    OrderService::new(
        Arc::new(repo),
        Arc::new(cache),
        Arc::new(StatusLine),
        fixed_clock(),
        STEP,
    )
}

pub fn fixed_clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(T0);
    Arc::new(clock)
}

pub fn uid(id: i64) -> UserId {
    UserId::parse(id).expect("test ids are positive")
}

pub fn oid(id: i64) -> OrderId {
    OrderId::parse(id).expect("test ids are positive")
}

pub fn user(id: i64, role: Role) -> User {
    User {
        id: uid(id),
        name: Name::parse("Jo").expect("valid name"),
        email: Email::parse(&format!("u{id}@x.io")).expect("valid email"),
        role,
        disabled: false,
        created_at: T0,
        updated_at: T0,
    }
}

pub fn customer(id: i64) -> Caller {
    Caller {
        user_id: uid(id),
        role: Role::Customer,
    }
}

pub fn admin(id: i64) -> Caller {
    Caller {
        user_id: uid(id),
        role: Role::Admin,
    }
}

pub fn order(id: i64, customer_id: i64, status: OrderStatus, version: i64) -> Order {
    Order {
        id: oid(id),
        customer_id: uid(customer_id),
        item_description: ItemDescription::parse("Laptop").expect("valid item"),
        details: Default::default(),
        status,
        version,
        next_step_at: if status.is_terminal() { None } else { Some(T0) },
        created_at: T0,
        updated_at: T0,
    }
}

/// Renders an order as `order {id} {status}`: enough to tell which order, in which status,
/// a service answered with.
pub struct StatusLine;

impl StatusLine {
    pub fn rendered(&self, order: &Order) -> RenderedOrder {
        render_order(self, order).expect("renders")
    }
}

impl OrderRenderer for StatusLine {
    fn render(&self, order: &Order) -> Result<Bytes, DomainError> {
        Ok(Bytes::from(format!("order {} {}", order.id, order.status)))
    }
}

/// A sealer whose current key is "v2": `v2:TEXT` is current, `v1:TEXT` was sealed under a
/// key rotated out, `v9:…` under one this process does not hold, anything else is a row
/// from before sealing.
pub struct VersionedSealer;

impl crate::ports::SecretSealer for VersionedSealer {
    fn seal(&self, secret: &crate::SecretText) -> crate::SealedSecret {
        crate::SealedSecret::new(format!("v2:{}", secret.expose()))
    }

    fn open(&self, sealed: &crate::SealedSecret) -> Result<crate::SecretText, DomainError> {
        let stored = sealed.as_stored();
        if stored.starts_with("v9:") {
            return Err(DomainError::unavailable("sealed under key v9"));
        }
        let text = stored
            .strip_prefix("v2:")
            .or_else(|| stored.strip_prefix("v1:"))
            .unwrap_or(stored);
        Ok(crate::SecretText::new(text))
    }

    fn is_stale(&self, sealed: &crate::SealedSecret) -> bool {
        !sealed.as_stored().starts_with("v2:")
    }
}

pub fn sealer() -> Arc<dyn crate::ports::SecretSealer> {
    Arc::new(VersionedSealer)
}
