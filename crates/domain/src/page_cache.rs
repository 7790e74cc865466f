//! The cached first page of a customer's orders, as the API sends it.
//!
//! Lists are the costliest read (a hundred rows fetched and rendered per request) and the
//! most repeated one (a client polling "my orders"). The unfiltered first page is kept
//! rendered, under the customer's list generation: every write to one of the customer's
//! orders gives the customer a new generation, and a page is served only when it was
//! stored under the current one. A reader that loaded the page before a write committed
//! stores it under the generation it read first, which the write has already replaced, so
//! the old page is never served (the list form of the cache-aside stale-set race).

use bytes::Bytes;

/// A page of orders rendered for the client, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPage {
    pub body: Bytes,
    /// The id the next page starts below; `None` on the last page.
    pub next_before: Option<i64>,
}

/// A customer's list generation: which writes a stored page has seen. Unique, never
/// reused, so a generation forgotten by the cache can never match an older page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListGeneration(pub u64);

/// What the cache holds for a customer's first page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedPage {
    /// Rendered under the customer's current generation.
    Hit(RenderedPage),
    /// Not held; a page loaded from now on may be stored under this generation.
    Miss(ListGeneration),
    /// Not to be cached now: caching is off, or a write to the customer's orders may not
    /// have reached the cache, so a page held there could be stale.
    Bypass,
}
