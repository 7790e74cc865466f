//! Rows as the domain's types. Statuses, roles and actors are stored as the domain's own
//! labels (`as_str`/`parse`), times as microseconds since the Unix epoch.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use trachios_domain::{
    ActorKind, DomainError, Email, EventKind, ItemDescription, Name, Order, OrderDetails,
    OrderEvent, OrderId, OrderStatus, Role, User, UserId,
};

use crate::schema::{order_events, orders, users};

/// An instant as stored: microseconds, the precision PostgreSQL keeps, so both stores
/// return the same value for the same input.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn instant(micros: i64) -> Result<DateTime<Utc>, DomainError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| {
        DomainError::corrupt_row(DomainError::Validation(format!("time {micros} µs")))
    })
}

fn status(label: &str) -> Result<OrderStatus, DomainError> {
    OrderStatus::parse(label).map_err(DomainError::corrupt_row)
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(Sqlite))]
pub(crate) struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserRow {
    pub fn into_user(self) -> Result<User, DomainError> {
        Ok(User {
            id: UserId::parse(self.id).map_err(DomainError::corrupt_row)?,
            name: Name::parse(&self.name).map_err(DomainError::corrupt_row)?,
            email: Email::parse(&self.email).map_err(DomainError::corrupt_row)?,
            role: Role::parse(&self.role).map_err(DomainError::corrupt_row)?,
            disabled: self.disabled,
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
        })
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = orders, check_for_backend(Sqlite))]
pub(crate) struct OrderRow {
    pub id: i64,
    pub customer_id: i64,
    pub item_description: String,
    pub status: String,
    pub version: i64,
    pub next_step_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub lines: String,
    pub currency: Option<String>,
    pub total: Option<i64>,
    pub shipping_address: Option<String>,
    pub note: Option<String>,
}

/// A stored document the domain's types refuse.
fn corrupt_document(err: serde_json::Error) -> DomainError {
    DomainError::corrupt_row(DomainError::Validation(err.to_string()))
}

impl OrderRow {
    pub fn into_order(self) -> Result<Order, DomainError> {
        let lines = serde_json::from_str(&self.lines).map_err(corrupt_document)?;
        let shipping_address = self
            .shipping_address
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(corrupt_document)?;
        Ok(Order {
            id: OrderId::parse(self.id).map_err(DomainError::corrupt_row)?,
            customer_id: UserId::parse(self.customer_id).map_err(DomainError::corrupt_row)?,
            item_description: ItemDescription::parse(&self.item_description)
                .map_err(DomainError::corrupt_row)?,
            details: OrderDetails::from_stored(
                lines,
                self.total,
                self.currency.as_deref(),
                shipping_address,
                self.note.as_deref(),
            )?,
            status: status(&self.status)?,
            version: self.version,
            next_step_at: self.next_step_at.map(instant).transpose()?,
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
        })
    }
}

pub(crate) fn into_orders(rows: Vec<OrderRow>) -> Result<Vec<Order>, DomainError> {
    rows.into_iter().map(OrderRow::into_order).collect()
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = order_events, check_for_backend(Sqlite))]
pub(crate) struct EventRow {
    pub id: i64,
    pub order_id: i64,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub actor_id: Option<i64>,
    pub created_at: i64,
}

impl EventRow {
    pub fn into_event(self) -> Result<OrderEvent, DomainError> {
        Ok(OrderEvent {
            id: self.id,
            order_id: OrderId::parse(self.order_id).map_err(DomainError::corrupt_row)?,
            kind: EventKind::parse(&self.kind).map_err(DomainError::corrupt_row)?,
            from: self.from_status.as_deref().map(status).transpose()?,
            to: status(&self.to_status)?,
            actor: ActorKind::parse(&self.actor).map_err(DomainError::corrupt_row)?,
            actor_id: self
                .actor_id
                .map(UserId::parse)
                .transpose()
                .map_err(DomainError::corrupt_row)?,
            at: instant(self.created_at)?,
        })
    }
}

/// An event as a change writes it: the status it left and entered, who made it, and the
/// version and due time it produced (what PostgreSQL's change feed reads orders back from;
/// kept here so that the two stores hold the same history).
#[derive(Debug, Insertable)]
#[diesel(table_name = order_events)]
pub(crate) struct NewEventRow<'a> {
    pub order_id: i64,
    pub kind: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub actor: &'a str,
    pub actor_id: Option<i64>,
    pub created_at: i64,
    pub version: i64,
    pub next_step_at: Option<i64>,
    /// For an edit: what it replaced (`ReplacedContents`).
    pub replaced: Option<String>,
}

impl NewEventRow<'static> {
    /// The event of a change of this kind that left `order` as it is, from `from`.
    pub fn of(
        order: &OrderRow,
        kind: EventKind,
        from: Option<OrderStatus>,
        actor: ActorKind,
        actor_id: Option<UserId>,
        at: i64,
    ) -> Result<Self, DomainError> {
        Ok(Self {
            order_id: order.id,
            kind: kind.as_str(),
            from_status: from.map(OrderStatus::as_str),
            to_status: status(&order.status)?.as_str(),
            actor: actor.as_str(),
            actor_id: actor_id.map(UserId::get),
            created_at: at,
            version: order.version,
            next_step_at: order.next_step_at,
            replaced: None,
        })
    }
}

/// An order's details as the columns keep them (see `OrderDetails::from_stored`).
pub(crate) struct DetailColumns {
    pub lines: String,
    pub currency: Option<&'static str>,
    pub total: Option<i64>,
    pub shipping_address: Option<String>,
    pub note: Option<String>,
}

impl DetailColumns {
    pub fn of(details: &OrderDetails) -> Result<Self, DomainError> {
        Ok(Self {
            lines: serde_json::to_string(&details.lines).map_err(DomainError::internal)?,
            currency: details.currency().map(|c| c.code()),
            total: details.total.map(|t| t.minor()),
            shipping_address: details
                .shipping_address
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(DomainError::internal)?,
            note: details.note.as_ref().map(|n| n.as_str().to_owned()),
        })
    }
}
