//! Customers' rendered first pages for the embedded store, kept in this process under list
//! generations like Redis keeps them (see `trachios_domain::page_cache`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use trachios_domain::{CachedPage, ListGeneration, PageSize, RenderedPage, UserId};

/// Rendered pages are kept up to this many bytes in all (a page of 100 orders is ~25 KB).
pub const FIRST_PAGES_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;
/// Customers whose generation is remembered at most; a forgotten one is started afresh.
const GENERATIONS_CAPACITY: u64 = 100_000;

struct StoredPage {
    generation: u64,
    size: PageSize,
    page: RenderedPage,
}

pub(crate) struct FirstPages {
    generations: Cache<UserId, u64>,
    pages: Cache<UserId, Arc<StoredPage>>,
    /// Generations are counted, never reused: a forgotten one cannot match an older page.
    made: AtomicU64,
}

impl FirstPages {
    pub(crate) fn new(ttl: Duration, capacity_bytes: u64) -> Self {
        Self {
            generations: Cache::builder()
                .max_capacity(GENERATIONS_CAPACITY)
                .time_to_live(ttl * 2)
                .build(),
            pages: Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|_, stored: &Arc<StoredPage>| {
                    u32::try_from(stored.page.body.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build(),
            made: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> u64 {
        self.made.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) async fn get(&self, customer: UserId, size: PageSize) -> CachedPage {
        let generation = self
            .generations
            .get_with(customer, async { self.fresh() })
            .await;
        match self.pages.get(&customer).await {
            Some(stored) if stored.generation == generation && stored.size == size => {
                CachedPage::Hit(stored.page.clone())
            }
            _ => CachedPage::Miss(ListGeneration(generation)),
        }
    }

    pub(crate) async fn put(
        &self,
        customer: UserId,
        size: PageSize,
        generation: ListGeneration,
        page: &RenderedPage,
    ) {
        let stored = StoredPage {
            generation: generation.0,
            size,
            page: page.clone(),
        };
        self.pages.insert(customer, Arc::new(stored)).await;
    }

    /// The customer's orders changed: no page stored before is served again.
    pub(crate) async fn renew(&self, customer: UserId) {
        self.generations.insert(customer, self.fresh()).await;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn uid(n: i64) -> UserId {
        UserId::parse(n).expect("valid id")
    }

    fn size(n: usize) -> PageSize {
        PageSize::new(n).expect("valid size")
    }

    fn page(body: &'static str) -> RenderedPage {
        RenderedPage {
            body: Bytes::from_static(body.as_bytes()),
            next_before: None,
        }
    }

    async fn generation_of(pages: &FirstPages, customer: UserId) -> ListGeneration {
        match pages.get(customer, size(100)).await {
            CachedPage::Miss(generation) => generation,
            other => panic!("expected a miss, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_page_is_served_until_the_customers_orders_change() {
        let pages = FirstPages::new(Duration::from_secs(60), 1 << 20);
        let generation = generation_of(&pages, uid(1)).await;
        pages.put(uid(1), size(100), generation, &page("[1]")).await;
        assert_eq!(
            pages.get(uid(1), size(100)).await,
            CachedPage::Hit(page("[1]"))
        );
        assert!(
            matches!(pages.get(uid(1), size(10)).await, CachedPage::Miss(_)),
            "another page size"
        );
        assert!(
            matches!(pages.get(uid(2), size(100)).await, CachedPage::Miss(_)),
            "another customer"
        );
        pages.renew(uid(1)).await;
        assert!(matches!(
            pages.get(uid(1), size(100)).await,
            CachedPage::Miss(_)
        ));
    }

    #[tokio::test]
    async fn a_page_loaded_before_a_change_and_stored_after_it_is_never_served() {
        let pages = FirstPages::new(Duration::from_secs(60), 1 << 20);
        let before_the_change = generation_of(&pages, uid(1)).await;
        pages.renew(uid(1)).await;
        pages
            .put(uid(1), size(100), before_the_change, &page("[old]"))
            .await;
        let now = generation_of(&pages, uid(1)).await;
        assert_ne!(now, before_the_change);
        pages.put(uid(1), size(100), now, &page("[new]")).await;
        assert_eq!(
            pages.get(uid(1), size(100)).await,
            CachedPage::Hit(page("[new]"))
        );
    }

    #[tokio::test]
    async fn pages_expire_with_the_ttl() {
        let pages = FirstPages::new(Duration::from_millis(50), 1 << 20);
        let generation = generation_of(&pages, uid(1)).await;
        pages.put(uid(1), size(100), generation, &page("[1]")).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(matches!(
            pages.get(uid(1), size(100)).await,
            CachedPage::Miss(_)
        ));
    }
}
