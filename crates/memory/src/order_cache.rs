//! The order cache of the embedded store: in this process's memory, where every write of
//! the store is made, so the newest version is always known here.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;
use moka::ops::compute::Op;
use trachios_domain::ports::{OrderCache, OrderRenderer};
use trachios_domain::{
    render_order, CachedPage, DomainError, ListGeneration, Order, OrderId, PageSize, RenderedOrder,
    RenderedPage, UserId,
};

use crate::first_pages::{FirstPages, FIRST_PAGES_CAPACITY_BYTES};

/// Orders kept at most; about 300 bytes each, so the cache stays under ~30 MB.
pub const ORDER_CACHE_CAPACITY: u64 = 100_000;

/// Single orders by id, rendered, each entry living `ttl` like Redis's. A version never replaces a
/// newer one: a reader that fetched an order just before a change commits cannot put the
/// old version back over what the change stored. Customers' first pages are kept too, under
/// generations that every change of their orders renews.
#[derive(Clone)]
pub struct InProcessOrderCache {
    orders: Cache<OrderId, Arc<Kept>>,
    first_pages: Arc<FirstPages>,
    renderer: Arc<dyn OrderRenderer>,
}

/// A rendered order and the version it was rendered from.
struct Kept {
    version: i64,
    order: RenderedOrder,
}

impl InProcessOrderCache {
    pub fn new(ttl: Duration, capacity: u64, renderer: Arc<dyn OrderRenderer>) -> Self {
        Self {
            orders: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            first_pages: Arc::new(FirstPages::new(ttl, FIRST_PAGES_CAPACITY_BYTES)),
            renderer,
        }
    }

    async fn keep_newest(&self, order: &Order) -> Result<(), DomainError> {
        let candidate = Arc::new(Kept {
            version: order.version,
            order: render_order(&*self.renderer, order)?,
        });
        self.orders
            .entry(order.id)
            .and_compute_with(|known| async move {
                match known {
                    Some(entry) if entry.value().version >= candidate.version => Op::Nop,
                    _ => Op::Put(candidate),
                }
            })
            .await;
        Ok(())
    }
}

fn count(result: &'static str) {
    metrics::counter!("trachios_cache_operations_total", "result" => result).increment(1);
}

#[async_trait]
impl OrderCache for InProcessOrderCache {
    async fn get(&self, id: OrderId) -> Result<Option<RenderedOrder>, DomainError> {
        let found = self.orders.get(&id).await;
        count(if found.is_some() { "hit" } else { "miss" });
        Ok(found.map(|kept| kept.order.clone()))
    }

    async fn put(&self, order: &Order) -> Result<(), DomainError> {
        self.keep_newest(order).await
    }

    async fn replace(&self, orders: &[Order]) -> Result<(), DomainError> {
        // Stored even when absent: a reader holding an older version may put it next.
        for order in orders {
            self.keep_newest(order).await?;
        }
        let customers: std::collections::BTreeSet<UserId> =
            orders.iter().map(|order| order.customer_id).collect();
        for customer in customers {
            self.first_pages.renew(customer).await;
        }
        Ok(())
    }

    /// Nothing to wait for: `replace` cannot fail, and no other process reads this cache.
    async fn settle(&self) {}

    async fn first_page(
        &self,
        customer: UserId,
        size: PageSize,
    ) -> Result<CachedPage, DomainError> {
        let found = self.first_pages.get(customer, size).await;
        count(if matches!(found, CachedPage::Hit(_)) {
            "hit"
        } else {
            "miss"
        });
        Ok(found)
    }

    async fn put_first_page(
        &self,
        customer: UserId,
        size: PageSize,
        generation: ListGeneration,
        page: &RenderedPage,
    ) -> Result<(), DomainError> {
        self.first_pages.put(customer, size, generation, page).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use trachios_domain::{ItemDescription, OrderStatus, UserId};

    use super::*;

    fn order(version: i64) -> Order {
        let now = Utc::now();
        Order {
            id: OrderId::parse(7).expect("id"),
            customer_id: UserId::parse(1).expect("id"),
            item_description: ItemDescription::parse("Laptop").expect("item"),
            details: Default::default(),
            status: OrderStatus::Created,
            version,
            next_step_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Renders the version alone, so that a test reads back which version is kept.
    struct VersionOnly;

    impl OrderRenderer for VersionOnly {
        fn render(&self, order: &Order) -> Result<bytes::Bytes, DomainError> {
            Ok(order.version.to_string().into())
        }
    }

    fn cache(ttl: Duration) -> InProcessOrderCache {
        InProcessOrderCache::new(ttl, 100, Arc::new(VersionOnly))
    }

    async fn kept_version(cache: &InProcessOrderCache) -> Option<String> {
        let kept = cache.get(order(1).id).await.expect("memory never fails")?;
        assert_eq!(kept.customer_id, order(1).customer_id);
        Some(String::from_utf8_lossy(&kept.body).into_owned())
    }

    #[tokio::test]
    async fn an_older_version_never_replaces_a_newer_one() {
        let cache = cache(Duration::from_secs(60));
        assert_eq!(kept_version(&cache).await, None);
        cache.replace(&[order(2)]).await.unwrap();
        cache.put(&order(1)).await.unwrap();
        assert_eq!(kept_version(&cache).await.as_deref(), Some("2"));
        cache.put(&order(3)).await.unwrap();
        assert_eq!(kept_version(&cache).await.as_deref(), Some("3"));
    }

    #[tokio::test]
    async fn entries_expire() {
        let cache = cache(Duration::from_millis(50));
        cache.put(&order(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(kept_version(&cache).await, None);
    }
}
