//! Row types and the mapping of PostgreSQL enums to the domain's.

use std::io::Write;

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use trachios_domain::{Order, OrderStatus, Role, User};

use crate::schema::{orders, sql_types, users};

/// A Rust enum for a PostgreSQL enum type, with its labels in one place.
macro_rules! pg_enum {
    ($name:ident, $sql:ty, { $($variant:ident => $label:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
        #[diesel(sql_type = $sql)]
        pub(crate) enum $name { $($variant),+ }

        impl $name {
            pub(crate) fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }
        }

        impl ToSql<$sql, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.label().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<$sql, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                match bytes.as_bytes() {
                    $(b if b == $label.as_bytes() => Ok(Self::$variant),)+
                    other => Err(format!("unexpected {} value {:?}", stringify!($name), String::from_utf8_lossy(other)).into()),
                }
            }
        }
    };
}

/// Conversions both ways between a `pg_enum!` and the domain enum with the same variants.
macro_rules! mirrors {
    ($name:ident, $domain:ty, [$($variant:ident),+ $(,)?]) => {
        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => <$domain>::$variant),+ }
            }
        }
    };
}

pg_enum!(DbRole, sql_types::UserRole, { Customer => "customer", Admin => "admin" });
mirrors!(DbRole, Role, [Customer, Admin]);

pg_enum!(DbStatus, sql_types::OrderStatus, {
    Created => "created",
    Dispatched => "dispatched",
    InTransit => "in_transit",
    Delivered => "delivered",
    Cancelled => "cancelled",
});
mirrors!(
    DbStatus,
    OrderStatus,
    [Created, Dispatched, InTransit, Delivered, Cancelled]
);

// Who made a change, as `order_events.actor` stores it.
pg_enum!(DbActor, sql_types::OrderActor, { System => "system", Customer => "customer", Admin => "admin" });

impl From<trachios_domain::Actor> for DbActor {
    fn from(actor: trachios_domain::Actor) -> Self {
        match actor {
            trachios_domain::Actor::System => DbActor::System,
            trachios_domain::Actor::Customer(_) => DbActor::Customer,
            trachios_domain::Actor::Admin(_) => DbActor::Admin,
        }
    }
}

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
}

impl UserRow {
    pub fn into_user(self) -> User {
        User {
            id: self.id,
            name: self.name,
            email: self.email,
            role: self.role.into(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
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
}

impl From<OrderRow> for Order {
    fn from(row: OrderRow) -> Self {
        Order {
            id: row.id,
            customer_id: row.customer_id,
            item_description: row.item_description,
            status: row.status.into(),
            version: row.version,
            next_step_at: row.next_step_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
