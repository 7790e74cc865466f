//! The catalog and its stock ledger in PostgreSQL. A stock change is one statement: a
//! guarded `UPDATE` (the row lock orders concurrent changes, and the guard is evaluated
//! again on the row each one finds) with its movement written from what it returned.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use trachios_domain::ports::ProductRepository;
use trachios_domain::{
    Actor, DomainError, NewProduct, Product, ProductChanges, ProductDescription, ProductFilter,
    ProductId, ProductName, Stock, StockAdjustment, StockMovement, StoredMovement, StoredProduct,
    UserId,
};

use crate::children::of_existing_parent;
use crate::error::{written, QueryFailure};
use crate::like::like_pattern;
use crate::pool::{connection, sql_limit, PgPool};
use crate::rows::DbActor;
use crate::schema::sql_types;
use crate::statement::statement;

/// The catalog in PostgreSQL.
#[derive(Clone)]
pub struct PgProductRepository {
    pool: PgPool,
}

impl PgProductRepository {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// A sku taken in any case is a conflict with the unique index: no row, nothing written.
const INSERT: &str = "\
WITH product AS (
    INSERT INTO products (sku, name, description, price, currency, stock, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
    ON CONFLICT DO NOTHING
    RETURNING id, sku, name, description, price, currency, stock, active, created_at, updated_at
), opening AS (
    INSERT INTO stock_movements (product_id, delta, stock_after, reason, actor, actor_id, created_at)
    SELECT id, stock, stock, 'adjustment', $8, $9, created_at FROM product WHERE stock > 0
)
SELECT id, sku, name, description, price, currency, stock, active, created_at, updated_at FROM product";

const FIND: &str = "\
SELECT id, sku, name, description, price, currency, stock, active, created_at, updated_at
FROM products WHERE id = $1";

/// Planned with its values each time, so that the conditions not asked for fold away and a
/// short query walks the sku index.
const LIST: &str = "\
SELECT id, sku, name, description, price, currency, stock, active, created_at, updated_at
FROM products
WHERE ($1::boolean IS NULL OR active = $1)
  AND ($2::text IS NULL OR lower(sku) LIKE $2 ESCAPE '\\')
  AND ($3::bigint IS NULL OR id < $3)
ORDER BY id DESC
LIMIT $4";

/// A page of the names containing the query and a page of the skus, each from its own
/// index, merged: as one `OR`, a walk along the primary key would compute every row's sku
/// suffixes, and a bitmap of both would compute them again for every match. Planned with
/// its values each time, so that a common word walks the primary key and a rare one (or a
/// sku) reads its index.
const SEARCH: &str = "\
SELECT id, sku, name, description, price, currency, stock, active, created_at, updated_at
FROM products
WHERE id IN (
    (SELECT id FROM products
     WHERE lower(name) LIKE $2 ESCAPE '\\'
       AND ($1::boolean IS NULL OR active = $1) AND ($4::bigint IS NULL OR id < $4)
     ORDER BY id DESC LIMIT $5)
    UNION ALL
    (SELECT id FROM products
     WHERE sku_suffixes(sku) @@ $3::tsquery
       AND ($1::boolean IS NULL OR active = $1) AND ($4::bigint IS NULL OR id < $4)
     ORDER BY id DESC LIMIT $5)
)
ORDER BY id DESC
LIMIT $5";

const UPDATE: &str = "\
UPDATE products SET
    name = COALESCE($2, name),
    description = COALESCE($3, description),
    price = COALESCE($4, price),
    active = COALESCE($5, active),
    updated_at = $6
WHERE id = $1
RETURNING id, sku, name, description, price, currency, stock, active, created_at, updated_at";

const ADJUST: &str = "\
WITH moved AS (
    UPDATE products SET stock = stock + $2, updated_at = $5
    WHERE id = $1 AND stock + $2 BETWEEN 0 AND $7
    RETURNING id, sku, name, description, price, currency, stock, active, created_at, updated_at
), ledger AS (
    INSERT INTO stock_movements (product_id, delta, stock_after, reason, note, actor, actor_id, created_at)
    SELECT id, $2, stock, 'adjustment', $3, $4, $6, $5 FROM moved
)
SELECT id, sku, name, description, price, currency, stock, active, created_at, updated_at FROM moved";

const MOVEMENTS: &str = "\
SELECT id, product_id, delta, stock_after, reason, order_id, note, actor, actor_id, created_at
FROM stock_movements
WHERE product_id = $1 AND ($2::bigint IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3";

const EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM products WHERE id = $1) AS found";

#[derive(QueryableByName)]
pub(crate) struct ProductRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    sku: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = BigInt)]
    price: i64,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    stock: i64,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl ProductRow {
    pub(crate) fn into_product(self) -> Result<Product, DomainError> {
        StoredProduct {
            id: self.id,
            sku: self.sku,
            name: self.name,
            description: self.description,
            price: self.price,
            currency: self.currency,
            stock: self.stock,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .into_product()
    }
}

#[derive(QueryableByName)]
struct MovementRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    product_id: i64,
    #[diesel(sql_type = BigInt)]
    delta: i64,
    #[diesel(sql_type = BigInt)]
    stock_after: i64,
    #[diesel(sql_type = Text)]
    reason: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    order_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    note: Option<String>,
    #[diesel(sql_type = sql_types::OrderActor)]
    actor: DbActor,
    #[diesel(sql_type = Nullable<BigInt>)]
    actor_id: Option<i64>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl MovementRow {
    fn into_movement(self) -> Result<StockMovement, DomainError> {
        StoredMovement {
            id: self.id,
            product_id: self.product_id,
            delta: self.delta,
            stock_after: self.stock_after,
            reason: self.reason,
            order_id: self.order_id,
            note: self.note,
            actor: self.actor.0,
            actor_id: self.actor_id,
            created_at: self.created_at,
        }
        .into_movement()
    }
}

/// The tsquery matching the sku suffixes (see the migration's `sku_suffixes`) that start
/// with `text`, which are those of the skus containing it: one quoted lexeme, its quotes
/// and backslashes doubled as tsquery's parser reads them, taken as a prefix.
fn suffix_prefix(text: &str) -> String {
    format!("'{}':*", text.replace('\\', "\\\\").replace('\'', "''"))
}

fn products(rows: Vec<ProductRow>) -> Result<Vec<Product>, DomainError> {
    rows.into_iter().map(ProductRow::into_product).collect()
}

#[async_trait]
impl ProductRepository for PgProductRepository {
    async fn insert(
        &self,
        product: NewProduct,
        actor: Actor,
    ) -> Result<Option<Product>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let row = statement(INSERT)
            .bind::<Text, _>(product.sku.as_str())
            .bind::<Text, _>(product.name.as_str())
            .bind::<Text, _>(product.description.as_str())
            .bind::<BigInt, _>(product.price.minor())
            .bind::<Text, _>(product.price.currency().code())
            .bind::<BigInt, _>(product.stock.get())
            .bind::<Timestamptz, _>(product.created_at)
            .bind::<sql_types::OrderActor, _>(DbActor(actor.kind()))
            .bind::<Nullable<BigInt>, _>(actor.user_id().map(UserId::get))
            .load::<ProductRow>(&mut conn)
            .await
            .map(written)
            .or_failure_on(&mut conn)
            .await?;
        row.map(ProductRow::into_product).transpose()
    }

    async fn find(&self, id: ProductId) -> Result<Option<Product>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = statement(FIND)
            .bind::<BigInt, _>(id.get())
            .load::<ProductRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(products(rows)?.into_iter().next())
    }

    async fn list(
        &self,
        filter: &ProductFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Product>, DomainError> {
        let active = filter.active.required_flag();
        let mut conn = connection(&self.pool).await?;
        let query = match &filter.q {
            Some(q) if q.is_substring() => statement(SEARCH)
                .planned_each_time()
                .bind::<Nullable<Bool>, _>(active)
                .bind::<Text, _>(like_pattern(q.as_str(), true))
                .bind::<Text, _>(suffix_prefix(q.as_str()))
                .bind::<Nullable<BigInt>, _>(before)
                .bind::<BigInt, _>(sql_limit(limit)),
            q => statement(LIST)
                .planned_each_time()
                .bind::<Nullable<Bool>, _>(active)
                .bind::<Nullable<Text>, _>(q.as_ref().map(|q| like_pattern(q.as_str(), false)))
                .bind::<Nullable<BigInt>, _>(before)
                .bind::<BigInt, _>(sql_limit(limit)),
        };
        let rows = query
            .load::<ProductRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        products(rows)
    }

    async fn update(
        &self,
        id: ProductId,
        changes: &ProductChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Product>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = statement(UPDATE)
            .bind::<BigInt, _>(id.get())
            .bind::<Nullable<Text>, _>(changes.name.as_ref().map(ProductName::as_str))
            .bind::<Nullable<Text>, _>(changes.description.as_ref().map(ProductDescription::as_str))
            .bind::<Nullable<BigInt>, _>(changes.price)
            .bind::<Nullable<Bool>, _>(changes.active)
            .bind::<Timestamptz, _>(at)
            .load::<ProductRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(products(rows)?.into_iter().next())
    }

    async fn adjust_stock(
        &self,
        id: ProductId,
        adjustment: &StockAdjustment,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<Option<Product>, DomainError> {
        // A refusal is judged on the row as read after the guarded update found nothing to
        // change; should the stock have moved back in between, the update is tried again.
        for _ in 0..3 {
            let mut conn = connection(&self.pool).await?;
            let moved = statement(ADJUST)
                .bind::<BigInt, _>(id.get())
                .bind::<BigInt, _>(adjustment.delta)
                .bind::<Text, _>(adjustment.reason.as_str())
                .bind::<sql_types::OrderActor, _>(DbActor(actor.kind()))
                .bind::<Timestamptz, _>(at)
                .bind::<Nullable<BigInt>, _>(actor.user_id().map(UserId::get))
                .bind::<BigInt, _>(Stock::MAX)
                .load::<ProductRow>(&mut conn)
                .await
                .or_failure_on(&mut conn)
                .await?;
            if let Some(product) = products(moved)?.into_iter().next() {
                return Ok(Some(product));
            }
            drop(conn);
            let Some(current) = self.find(id).await? else {
                return Ok(None);
            };
            current.stock.moved(adjustment.delta, &current.sku)?;
        }
        Err(DomainError::Contended)
    }

    async fn movements(
        &self,
        id: ProductId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Option<Vec<StockMovement>>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let rows = statement(MOVEMENTS)
            .bind::<BigInt, _>(id.get())
            .bind::<Nullable<BigInt>, _>(before)
            .bind::<BigInt, _>(sql_limit(limit))
            .load::<MovementRow>(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        let Some(rows) = of_existing_parent(
            &mut conn,
            rows,
            statement(EXISTS).bind::<BigInt, _>(id.get()),
        )
        .await?
        else {
            return Ok(None);
        };
        rows.into_iter()
            .map(MovementRow::into_movement)
            .collect::<Result<_, _>>()
            .map(Some)
    }
}
