//! Row types, and the PostgreSQL enums as the domain's own types: each enum is written and
//! read by the domain's `as_str`/`parse`, so no status, role or actor is listed here.

use std::io::Write;

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use trachios_domain::{
    ActorKind, DomainError, Email, ItemDescription, Name, Order, OrderDetails, OrderId,
    OrderStatus, Role, User, UserId,
};

use crate::schema::{orders, sql_types, users};

/// A domain enum stored as a PostgreSQL enum of the same labels.
macro_rules! pg_enum {
    ($name:ident, $domain:ty, $sql:ty) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
        #[diesel(sql_type = $sql)]
        pub(crate) struct $name(pub $domain);

        impl ToSql<$sql, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.0.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<$sql, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let label = std::str::from_utf8(bytes.as_bytes())?;
                Ok(Self(<$domain>::parse(label)?))
            }
        }
    };
}

pg_enum!(DbRole, Role, sql_types::UserRole);
pg_enum!(DbStatus, OrderStatus, sql_types::OrderStatus);
pg_enum!(DbActor, ActorKind, sql_types::OrderActor);

#[derive(Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub(crate) struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub role: DbRole,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub disabled: bool,
}

impl UserRow {
    pub fn into_user(self) -> Result<User, DomainError> {
        Ok(User {
            id: UserId::parse(self.id).map_err(DomainError::corrupt_row)?,
            name: Name::parse(&self.name).map_err(DomainError::corrupt_row)?,
            email: Email::parse(&self.email).map_err(DomainError::corrupt_row)?,
            role: self.role.0,
            disabled: self.disabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// An admin's change to an account; `None` fields are left as they are.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct UserChangeRow {
    pub role: Option<DbRole>,
    pub disabled: Option<bool>,
    pub updated_at: DateTime<Utc>,
    pub tokens_valid_after: Option<DateTime<Utc>>,
    pub tokens_kept_jti: Option<Option<String>>,
}

#[derive(Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = orders, check_for_backend(Pg))]
pub(crate) struct OrderRow {
    pub id: i64,
    pub customer_id: i64,
    pub item_description: String,
    pub status: DbStatus,
    pub version: i64,
    pub next_step_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: serde_json::Value,
    pub currency: Option<String>,
    pub total: Option<i64>,
    pub shipping_address: Option<serde_json::Value>,
    pub note: Option<String>,
}

/// A stored document the domain's types refuse.
fn corrupt_document(err: serde_json::Error) -> DomainError {
    DomainError::corrupt_row(DomainError::Validation(err.to_string()))
}

impl OrderRow {
    pub fn into_order(self) -> Result<Order, DomainError> {
        let lines = serde_json::from_value(self.lines).map_err(corrupt_document)?;
        let shipping_address = self
            .shipping_address
            .map(serde_json::from_value)
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
            status: self.status.0,
            version: self.version,
            next_step_at: self.next_step_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Converts every row, failing on the first the domain refuses.
pub(crate) fn into_orders(rows: Vec<OrderRow>) -> Result<Vec<Order>, DomainError> {
    rows.into_iter().map(OrderRow::into_order).collect()
}

/// An order's details as the columns keep them (see `OrderDetails::from_stored`).
pub(crate) struct DetailColumns {
    pub lines: serde_json::Value,
    pub currency: Option<&'static str>,
    pub total: Option<i64>,
    pub shipping_address: Option<serde_json::Value>,
    pub note: Option<String>,
}

impl DetailColumns {
    pub fn of(details: &OrderDetails) -> Result<Self, DomainError> {
        Ok(Self {
            lines: serde_json::to_value(&details.lines).map_err(DomainError::internal)?,
            currency: details.currency().map(|c| c.code()),
            total: details.total.map(|t| t.minor()),
            shipping_address: details
                .shipping_address
                .as_ref()
                .map(serde_json::to_value)
                .transpose()
                .map_err(DomainError::internal)?,
            note: details.note.as_ref().map(|n| n.as_str().to_owned()),
        })
    }
}

/// The order's contents as the event `e` left them, beside the order `o` as it is now: what
/// the first edit after `e` replaced, or else the order's own columns. Joined with
/// `next_edit_after_event!`.
macro_rules! order_contents_at_event {
    () => {
        "CASE WHEN r.found THEN r.item_description ELSE o.item_description END AS item_description,
       CASE WHEN r.found THEN r.lines ELSE o.lines END AS lines,
       CASE WHEN r.found THEN r.currency ELSE o.currency END AS currency,
       CASE WHEN r.found THEN r.total ELSE o.total END AS total,
       CASE WHEN r.found THEN r.shipping_address ELSE o.shipping_address END AS shipping_address,
       CASE WHEN r.found THEN r.note ELSE o.note END AS note"
    };
}

/// The contents the first edit after the event `e` replaced, as `r` (see
/// `order_contents_at_event!`); found through the `(order_id, id)` index of events.
macro_rules! next_edit_after_event {
    () => {
        "LEFT JOIN LATERAL (
    SELECT true AS found, x.replaced->>'item_description' AS item_description,
           x.replaced->'lines' AS lines, x.replaced->>'currency' AS currency,
           (x.replaced->>'total')::bigint AS total,
           NULLIF(x.replaced->'shipping_address', 'null'::jsonb) AS shipping_address,
           x.replaced->>'note' AS note
    FROM order_events x
    WHERE x.order_id = e.order_id AND x.id > e.id AND x.kind = 'edited'
    ORDER BY x.id
    LIMIT 1
) r ON true"
    };
}

pub(crate) use {next_edit_after_event, order_contents_at_event};
