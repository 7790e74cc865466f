//! The catalog and its stock ledger in the embedded store. A stock change reads, decides
//! and writes under the single writer, so nothing can come between the read and the write.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use trachios_domain::ports::ProductRepository;
use trachios_domain::{
    Actor, ActorKind, DomainError, NewProduct, Product, ProductChanges, ProductFilter, ProductId,
    StockAdjustment, StockMovement, StoredMovement, StoredProduct, UserId,
};

use crate::fts::phrase;
use crate::rows::{instant, micros};
use crate::store::SqliteStore;

/// The catalog in the embedded store.
#[derive(Clone)]
pub struct SqliteProductRepository {
    store: SqliteStore,
}

impl SqliteProductRepository {
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

pub(crate) const COLUMNS: &str =
    "id, sku, name, description, price, currency, stock, active, created_at, updated_at";

const INSERT: &str = "\
INSERT INTO products (sku, name, description, price, currency, stock, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id, sku, name, description, price, currency, stock, active, created_at, updated_at";

const MOVEMENT: &str = "\
INSERT INTO stock_movements (product_id, delta, stock_after, reason, note, actor, actor_id, created_at)
VALUES (?, ?, ?, 'adjustment', ?, ?, ?, ?)";

const SET_STOCK: &str = "\
UPDATE products SET stock = ?, updated_at = ? WHERE id = ?
RETURNING id, sku, name, description, price, currency, stock, active, created_at, updated_at";

const UPDATE: &str = "\
UPDATE products SET
    name = coalesce(?, name),
    description = coalesce(?, description),
    price = coalesce(?, price),
    active = coalesce(?, active),
    updated_at = ?
WHERE id = ?
RETURNING id, sku, name, description, price, currency, stock, active, created_at, updated_at";

const MOVEMENTS: &str = "\
SELECT id, product_id, delta, stock_after, reason, order_id, note, actor, actor_id, created_at
FROM stock_movements
WHERE product_id = ? AND (? IS NULL OR id < ?)
ORDER BY id DESC
LIMIT ?";

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
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    updated_at: i64,
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
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
        }
        .into_product()
    }
}

fn products(rows: Vec<ProductRow>) -> Result<Vec<Product>, DomainError> {
    rows.into_iter().map(ProductRow::into_product).collect()
}

#[derive(QueryableByName)]
pub(crate) struct MovementRow {
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
    #[diesel(sql_type = Text)]
    actor: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    actor_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
}

impl MovementRow {
    pub(crate) fn into_movement(self) -> Result<StockMovement, DomainError> {
        StoredMovement {
            id: self.id,
            product_id: self.product_id,
            delta: self.delta,
            stock_after: self.stock_after,
            reason: self.reason,
            order_id: self.order_id,
            note: self.note,
            actor: ActorKind::parse(&self.actor).map_err(DomainError::corrupt_row)?,
            actor_id: self.actor_id,
            created_at: instant(self.created_at)?,
        }
        .into_movement()
    }
}

/// Writes one `adjustment` movement that took the product's stock to `stock_after`.
fn record_adjustment(
    conn: &mut SqliteConnection,
    product_id: i64,
    delta: i64,
    stock_after: i64,
    note: Option<&str>,
    actor: Actor,
    at: i64,
) -> QueryResult<usize> {
    diesel::sql_query(MOVEMENT)
        .bind::<BigInt, _>(product_id)
        .bind::<BigInt, _>(delta)
        .bind::<BigInt, _>(stock_after)
        .bind::<Nullable<Text>, _>(note)
        .bind::<Text, _>(actor.kind().as_str())
        .bind::<Nullable<BigInt>, _>(actor.user_id().map(UserId::get))
        .bind::<BigInt, _>(at)
        .execute(conn)
}

/// What an adjustment found under the writer.
enum Adjusted {
    Done(ProductRow),
    Missing,
    Refused(DomainError),
}

#[async_trait]
impl ProductRepository for SqliteProductRepository {
    async fn insert(
        &self,
        product: NewProduct,
        actor: Actor,
    ) -> Result<Option<Product>, DomainError> {
        let at = micros(product.created_at);
        let rows = self
            .store
            .write(
                move |conn| {
                    let rows = diesel::sql_query(INSERT)
                        .bind::<Text, _>(product.sku.as_str())
                        .bind::<Text, _>(product.name.as_str())
                        .bind::<Text, _>(product.description.as_str())
                        .bind::<BigInt, _>(product.price.minor())
                        .bind::<Text, _>(product.price.currency().code())
                        .bind::<BigInt, _>(product.stock.get())
                        .bind::<BigInt, _>(at)
                        .bind::<BigInt, _>(at)
                        .load::<ProductRow>(conn)?;
                    if let Some(row) = rows.first().filter(|r| r.stock > 0) {
                        record_adjustment(conn, row.id, row.stock, row.stock, None, actor, at)?;
                    }
                    Ok(rows)
                },
                |_, _| {},
            )
            .await?;
        Ok(products(rows)?.into_iter().next())
    }

    async fn find(&self, id: ProductId) -> Result<Option<Product>, DomainError> {
        let rows = self
            .store
            .read(move |conn| {
                diesel::sql_query(format!("SELECT {COLUMNS} FROM products WHERE id = ?"))
                    .bind::<BigInt, _>(id.get())
                    .load::<ProductRow>(conn)
            })
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
        let (anywhere, prefix) = match &filter.q {
            Some(q) if q.is_substring() => (Some(phrase(q.as_str())), None),
            // Every sku starting with the prefix sorts between it and it followed by the
            // highest code point: a range the lower(sku) index serves.
            Some(q) => (
                None,
                Some((q.as_str().to_owned(), format!("{}\u{10FFFF}", q.as_str()))),
            ),
            None => (None, None),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .store
            .read(move |conn| {
                let mut sql = format!("SELECT {COLUMNS} FROM products WHERE (? IS NULL OR active = ?)");
                if anywhere.is_some() {
                    sql.push_str(
                        " AND id IN (SELECT rowid FROM products_search WHERE products_search MATCH ?)",
                    );
                }
                if prefix.is_some() {
                    sql.push_str(" AND lower(sku) >= ? AND lower(sku) < ?");
                }
                sql.push_str(" AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?");
                let query = diesel::sql_query(sql)
                    .into_boxed()
                    .bind::<Nullable<Bool>, _>(active)
                    .bind::<Nullable<Bool>, _>(active);
                let query = match &anywhere {
                    Some(phrase) => query.bind::<Text, _>(phrase.clone()),
                    None => query,
                };
                let query = match &prefix {
                    Some((low, high)) => query
                        .bind::<Text, _>(low.clone())
                        .bind::<Text, _>(high.clone()),
                    None => query,
                };
                query
                    .bind::<Nullable<BigInt>, _>(before)
                    .bind::<Nullable<BigInt>, _>(before)
                    .bind::<BigInt, _>(limit)
                    .load::<ProductRow>(conn)
            })
            .await?;
        products(rows)
    }

    async fn update(
        &self,
        id: ProductId,
        changes: &ProductChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<Product>, DomainError> {
        let name = changes.name.as_ref().map(|n| n.as_str().to_owned());
        let description = changes.description.as_ref().map(|d| d.as_str().to_owned());
        let (price, active) = (changes.price, changes.active);
        let rows = self
            .store
            .write(
                move |conn| {
                    diesel::sql_query(UPDATE)
                        .bind::<Nullable<Text>, _>(name)
                        .bind::<Nullable<Text>, _>(description)
                        .bind::<Nullable<BigInt>, _>(price)
                        .bind::<Nullable<Bool>, _>(active)
                        .bind::<BigInt, _>(micros(at))
                        .bind::<BigInt, _>(id.get())
                        .load::<ProductRow>(conn)
                },
                |_, _| {},
            )
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
        let adjustment = adjustment.clone();
        let at = micros(at);
        let outcome = self
            .store
            .write(
                move |conn| {
                    let current =
                        diesel::sql_query(format!("SELECT {COLUMNS} FROM products WHERE id = ?"))
                            .bind::<BigInt, _>(id.get())
                            .load::<ProductRow>(conn)?;
                    let Some(current) = current.into_iter().next() else {
                        return Ok(Adjusted::Missing);
                    };
                    let decided = current
                        .into_product()
                        .and_then(|p| p.stock.moved(adjustment.delta, &p.sku));
                    let after = match decided {
                        Ok(after) => after.get(),
                        Err(refusal) => return Ok(Adjusted::Refused(refusal)),
                    };
                    let updated = diesel::sql_query(SET_STOCK)
                        .bind::<BigInt, _>(after)
                        .bind::<BigInt, _>(at)
                        .bind::<BigInt, _>(id.get())
                        .load::<ProductRow>(conn)?;
                    record_adjustment(
                        conn,
                        id.get(),
                        adjustment.delta,
                        after,
                        Some(adjustment.reason.as_str()),
                        actor,
                        at,
                    )?;
                    Ok(updated
                        .into_iter()
                        .next()
                        .map_or(Adjusted::Missing, Adjusted::Done))
                },
                |_, _| {},
            )
            .await?;
        match outcome {
            Adjusted::Done(row) => row.into_product().map(Some),
            Adjusted::Missing => Ok(None),
            Adjusted::Refused(refusal) => Err(refusal),
        }
    }

    async fn movements(
        &self,
        id: ProductId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Option<Vec<StockMovement>>, DomainError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = self
            .store
            .read(move |conn| {
                let exists =
                    diesel::sql_query(format!("SELECT {COLUMNS} FROM products WHERE id = ?"))
                        .bind::<BigInt, _>(id.get())
                        .load::<ProductRow>(conn)?;
                if exists.is_empty() {
                    return Ok(None);
                }
                diesel::sql_query(MOVEMENTS)
                    .bind::<BigInt, _>(id.get())
                    .bind::<Nullable<BigInt>, _>(before)
                    .bind::<Nullable<BigInt>, _>(before)
                    .bind::<BigInt, _>(limit)
                    .load::<MovementRow>(conn)
                    .map(Some)
            })
            .await?;
        found
            .map(|rows| rows.into_iter().map(MovementRow::into_movement).collect())
            .transpose()
    }
}
