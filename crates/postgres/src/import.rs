//! Loading another store's rows into an empty PostgreSQL database: one transaction, ids
//! kept, sequences moved past them, so that the service continues where the other left off.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use trachios_domain::{
    DomainError, Order, OrderId, Product, RevokedToken, StockMovement, StoredEvent,
    UserCredentials, UserId,
};

use crate::rows::{DbActor, DbRole, DbStatus, DetailColumns};
use crate::schema::{order_events, orders, revoked_tokens, users};

/// How many rows of each table were loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub users: usize,
    pub products: usize,
    pub movements: usize,
    pub orders: usize,
    pub events: usize,
    pub revoked_tokens: usize,
}

/// Why an import stopped; nothing of it was committed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot connect to PostgreSQL")]
    Connect(#[from] diesel::ConnectionError),
    #[error(
        "the target database already holds {users} users and {orders} orders; import into an \
         empty, migrated database (cargo xtask migrate) that no server has used yet"
    )]
    NotEmpty { users: i64, orders: i64 },
    #[error("cannot {action}")]
    Query {
        action: &'static str,
        #[source]
        source: diesel::result::Error,
    },
}

fn failed(action: &'static str) -> impl FnOnce(diesel::result::Error) -> ImportError {
    move |source| ImportError::Query { action, source }
}

/// An import in progress: rows go in page by page inside one transaction, which only
/// `commit` ends; dropping it rolls everything back.
pub struct Import {
    conn: AsyncPgConnection,
    counts: ImportCounts,
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = BigInt)]
    users: i64,
    #[diesel(sql_type = BigInt)]
    orders: i64,
}

impl Import {
    /// Starts the transaction on a migrated database, and refuses one that holds data.
    pub async fn begin(url: &str) -> Result<Self, ImportError> {
        let mut conn = crate::endpoint::connect(url).await?;
        // No server may write while the rows, and the sequences after them, go in.
        conn.batch_execute(
            "BEGIN; LOCK TABLE users, orders, order_events, revoked_tokens IN EXCLUSIVE MODE",
        )
        .await
        .map_err(failed("lock the tables (are the migrations applied?)"))?;
        let held: Held = diesel::sql_query(
            "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM orders) AS orders",
        )
        .load(&mut conn)
        .await
        .and_then(crate::error::the_row)
        .map_err(failed("count what the database holds"))?;
        if held.users > 0 || held.orders > 0 {
            return Err(ImportError::NotEmpty {
                users: held.users,
                orders: held.orders,
            });
        }
        Ok(Self {
            conn,
            counts: ImportCounts::default(),
        })
    }

    pub async fn users(&mut self, page: &[UserCredentials]) -> Result<(), ImportError> {
        let rows: Vec<_> = page
            .iter()
            .map(|c| {
                let u = &c.user;
                (
                    users::id.eq(u.id.get()),
                    users::name.eq(u.name.as_str().to_owned()),
                    users::email.eq(u.email.as_str().to_owned()),
                    users::password_hash.eq(c.password_hash.as_str().to_owned()),
                    users::role.eq(DbRole(u.role)),
                    users::created_at.eq(u.created_at),
                    users::updated_at.eq(u.updated_at),
                    users::disabled.eq(u.disabled),
                )
            })
            .collect();
        diesel::insert_into(users::table)
            .values(rows)
            .execute(&mut self.conn)
            .await
            .map_err(failed("insert users"))?;
        self.counts.users += page.len();
        Ok(())
    }

    pub async fn orders(&mut self, page: &[Order]) -> Result<(), ImportError> {
        let rows = page
            .iter()
            .map(|o| {
                let details = DetailColumns::of(&o.details)?;
                Ok((
                    orders::id.eq(o.id.get()),
                    orders::customer_id.eq(o.customer_id.get()),
                    orders::item_description.eq(o.item_description.as_str().to_owned()),
                    orders::status.eq(DbStatus(o.status)),
                    orders::version.eq(o.version),
                    orders::next_step_at.eq(o.next_step_at),
                    orders::created_at.eq(o.created_at),
                    orders::updated_at.eq(o.updated_at),
                    orders::lines.eq(details.lines),
                    orders::currency.eq(details.currency),
                    orders::total.eq(details.total),
                    orders::shipping_address.eq(details.shipping_address),
                    orders::note.eq(details.note),
                ))
            })
            .collect::<Result<Vec<_>, DomainError>>()
            .map_err(|e| {
                failed("encode orders")(diesel::result::Error::SerializationError(Box::new(e)))
            })?;
        diesel::insert_into(orders::table)
            .values(rows)
            .execute(&mut self.conn)
            .await
            .map_err(failed("insert orders"))?;
        self.counts.orders += page.len();
        Ok(())
    }

    pub async fn events(&mut self, page: &[StoredEvent]) -> Result<(), ImportError> {
        let rows: Vec<_> = page
            .iter()
            .map(|s| {
                let e = &s.event;
                let replaced = s
                    .replaced
                    .as_deref()
                    .map(serde_json::from_str::<serde_json::Value>)
                    .transpose()?;
                Ok((
                    order_events::id.eq(e.id),
                    order_events::order_id.eq(e.order_id.get()),
                    order_events::kind.eq(e.kind.as_str()),
                    order_events::from_status.eq(e.from.map(DbStatus)),
                    order_events::to_status.eq(DbStatus(e.to)),
                    order_events::actor.eq(DbActor(e.actor)),
                    order_events::actor_id.eq(e.actor_id.map(UserId::get)),
                    order_events::created_at.eq(e.at),
                    order_events::version.eq(s.version),
                    order_events::next_step_at.eq(s.next_step_at),
                    order_events::replaced.eq(replaced),
                ))
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()
            .map_err(|e| {
                failed("encode order events")(diesel::result::Error::SerializationError(Box::new(
                    e,
                )))
            })?;
        diesel::insert_into(order_events::table)
            .values(rows)
            .execute(&mut self.conn)
            .await
            .map_err(failed("insert order events"))?;
        self.counts.events += page.len();
        Ok(())
    }

    pub async fn revoked_tokens(&mut self, page: &[RevokedToken]) -> Result<(), ImportError> {
        let rows: Vec<_> = page
            .iter()
            .map(|t| {
                (
                    revoked_tokens::jti.eq(t.token_id.as_str().to_owned()),
                    revoked_tokens::user_id.eq(t.user_id.get()),
                    revoked_tokens::expires_at.eq(t.expires_at),
                )
            })
            .collect();
        diesel::insert_into(revoked_tokens::table)
            .values(rows)
            .execute(&mut self.conn)
            .await
            .map_err(failed("insert revoked tokens"))?;
        self.counts.revoked_tokens += page.len();
        Ok(())
    }

    pub async fn products(&mut self, page: &[Product]) -> Result<(), ImportError> {
        for p in page {
            diesel::sql_query(
                "INSERT INTO products (id, sku, name, description, price, currency, stock, active, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind::<BigInt, _>(p.id.get())
            .bind::<Text, _>(p.sku.as_str())
            .bind::<Text, _>(p.name.as_str())
            .bind::<Text, _>(p.description.as_str())
            .bind::<BigInt, _>(p.price.minor())
            .bind::<Text, _>(p.price.currency().code())
            .bind::<BigInt, _>(p.stock.get())
            .bind::<Bool, _>(p.active)
            .bind::<Timestamptz, _>(p.created_at)
            .bind::<Timestamptz, _>(p.updated_at)
            .execute(&mut self.conn)
            .await
            .map_err(failed("insert products"))?;
        }
        self.counts.products += page.len();
        Ok(())
    }

    pub async fn movements(&mut self, page: &[StockMovement]) -> Result<(), ImportError> {
        for m in page {
            diesel::sql_query(
                "INSERT INTO stock_movements (id, product_id, delta, stock_after, reason, order_id, note, actor, actor_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind::<BigInt, _>(m.id)
            .bind::<BigInt, _>(m.product_id.get())
            .bind::<BigInt, _>(m.delta)
            .bind::<BigInt, _>(m.stock_after.get())
            .bind::<Text, _>(m.reason.as_str())
            .bind::<Nullable<BigInt>, _>(m.order_id.map(OrderId::get))
            .bind::<Nullable<Text>, _>(m.note.as_deref())
            .bind::<crate::schema::sql_types::OrderActor, _>(DbActor(m.actor))
            .bind::<Nullable<BigInt>, _>(m.actor_id.map(UserId::get))
            .bind::<Timestamptz, _>(m.created_at)
            .execute(&mut self.conn)
            .await
            .map_err(failed("insert stock movements"))?;
        }
        self.counts.movements += page.len();
        Ok(())
    }

    /// Moves each sequence past the ids imported, and commits.
    pub async fn commit(mut self) -> Result<ImportCounts, ImportError> {
        self.conn
            .batch_execute(
                "SELECT setval(pg_get_serial_sequence('users', 'id'), coalesce(max(id), 0) + 1, false) FROM users;
                 SELECT setval(pg_get_serial_sequence('orders', 'id'), coalesce(max(id), 0) + 1, false) FROM orders;
                 SELECT setval(pg_get_serial_sequence('order_events', 'id'), coalesce(max(id), 0) + 1, false) FROM order_events;
                 SELECT setval(pg_get_serial_sequence('products', 'id'), coalesce(max(id), 0) + 1, false) FROM products;
                 SELECT setval(pg_get_serial_sequence('stock_movements', 'id'), coalesce(max(id), 0) + 1, false) FROM stock_movements;
                 COMMIT",
            )
            .await
            .map_err(failed("move the sequences and commit"))?;
        Ok(self.counts)
    }
}
