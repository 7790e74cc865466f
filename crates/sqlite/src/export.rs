//! Reading the whole file out, a page at a time in id order, to move it to another store.

use diesel::prelude::*;
use trachios_domain::{
    ActorKind, DomainError, EventKind, Order, OrderEvent, OrderId, OrderStatus, PasswordHash,
    Product, RevokedToken, StockMovement, StoredEvent, TokenId, UserCredentials, UserId,
};

use crate::products::{MovementRow, ProductRow, COLUMNS};

use crate::rows::{instant, into_orders, OrderRow, UserRow};
use crate::schema::{order_events, orders, revoked_tokens, users};
use crate::store::SqliteStore;

type FullEventRow = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    String,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

impl SqliteStore {
    /// Up to `limit` products with ids above `after`, active or not.
    pub async fn export_products(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Product>, DomainError> {
        let rows = self
            .read(move |conn| {
                diesel::sql_query(format!(
                    "SELECT {COLUMNS} FROM products WHERE id > ? ORDER BY id LIMIT ?"
                ))
                .bind::<diesel::sql_types::BigInt, _>(after)
                .bind::<diesel::sql_types::BigInt, _>(limit)
                .load::<ProductRow>(conn)
            })
            .await?;
        rows.into_iter().map(ProductRow::into_product).collect()
    }

    /// Up to `limit` stock movements with ids above `after`.
    pub async fn export_movements(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StockMovement>, DomainError> {
        let rows = self
            .read(move |conn| {
                diesel::sql_query(
                    "SELECT id, product_id, delta, stock_after, reason, order_id, note, actor, \
                     actor_id, created_at FROM stock_movements WHERE id > ? ORDER BY id LIMIT ?",
                )
                .bind::<diesel::sql_types::BigInt, _>(after)
                .bind::<diesel::sql_types::BigInt, _>(limit)
                .load::<MovementRow>(conn)
            })
            .await?;
        rows.into_iter().map(MovementRow::into_movement).collect()
    }

    /// Up to `limit` accounts with ids above `after`, password hashes included.
    pub async fn export_users(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<UserCredentials>, DomainError> {
        let rows: Vec<UserRow> = self
            .read(move |conn| {
                users::table
                    .filter(users::id.gt(after))
                    .order(users::id.asc())
                    .limit(limit)
                    .select(UserRow::as_select())
                    .load(conn)
            })
            .await?;
        rows.into_iter()
            .map(|mut row| {
                let password_hash = PasswordHash::new(std::mem::take(&mut row.password_hash));
                Ok(UserCredentials {
                    user: row.into_user()?,
                    password_hash,
                })
            })
            .collect()
    }

    /// Up to `limit` orders with ids above `after`.
    pub async fn export_orders(&self, after: i64, limit: i64) -> Result<Vec<Order>, DomainError> {
        into_orders(
            self.read(move |conn| {
                orders::table
                    .filter(orders::id.gt(after))
                    .order(orders::id.asc())
                    .limit(limit)
                    .select(OrderRow::as_select())
                    .load(conn)
            })
            .await?,
        )
    }

    /// Up to `limit` events with ids above `after`, with what each change produced.
    pub async fn export_events(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, DomainError> {
        let rows: Vec<FullEventRow> = self
            .read(move |conn| {
                order_events::table
                    .filter(order_events::id.gt(after))
                    .order(order_events::id.asc())
                    .limit(limit)
                    .select((
                        order_events::id,
                        order_events::order_id,
                        order_events::kind,
                        order_events::from_status,
                        order_events::to_status,
                        order_events::actor,
                        order_events::actor_id,
                        order_events::created_at,
                        order_events::version,
                        order_events::next_step_at,
                        order_events::replaced,
                    ))
                    .load(conn)
            })
            .await?;
        rows.into_iter().map(stored_event).collect()
    }

    /// Up to `limit` revoked tokens whose ids sort after `after`.
    pub async fn export_revoked_tokens(
        &self,
        after: String,
        limit: i64,
    ) -> Result<Vec<RevokedToken>, DomainError> {
        let rows: Vec<(String, i64, i64)> = self
            .read(move |conn| {
                revoked_tokens::table
                    .filter(revoked_tokens::jti.gt(after))
                    .order(revoked_tokens::jti.asc())
                    .limit(limit)
                    .load(conn)
            })
            .await?;
        rows.into_iter()
            .map(|(jti, user_id, expires_at)| {
                Ok(RevokedToken {
                    token_id: TokenId::new(jti),
                    user_id: UserId::parse(user_id).map_err(DomainError::corrupt_row)?,
                    expires_at: instant(expires_at)?,
                })
            })
            .collect()
    }
}

fn stored_event(row: FullEventRow) -> Result<StoredEvent, DomainError> {
    let (id, order_id, kind, from, to, actor, actor_id, at, version, next_step_at, replaced) = row;
    let status = |label: &str| OrderStatus::parse(label).map_err(DomainError::corrupt_row);
    Ok(StoredEvent {
        event: OrderEvent {
            id,
            order_id: OrderId::parse(order_id).map_err(DomainError::corrupt_row)?,
            kind: EventKind::parse(&kind).map_err(DomainError::corrupt_row)?,
            from: from.as_deref().map(status).transpose()?,
            to: status(&to)?,
            actor: ActorKind::parse(&actor).map_err(DomainError::corrupt_row)?,
            actor_id: actor_id
                .map(UserId::parse)
                .transpose()
                .map_err(DomainError::corrupt_row)?,
            at: instant(at)?,
        },
        version,
        next_step_at: next_step_at.map(instant).transpose()?,
        replaced,
    })
}
