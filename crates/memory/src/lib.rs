//! In-process adapters: what one process keeps in its own memory in front of the store
//! that every process shares (account states, verified tokens), the order cache of the
//! embedded store (orders and customers' first pages), and the feed that routes committed changes to live streams.

mod account_states;
mod feed;
mod first_pages;
mod order_cache;
mod verified_tokens;

pub use account_states::CachedAccountStates;
pub use feed::{ChangeHub, SUBSCRIBER_BACKLOG};
pub use order_cache::{InProcessOrderCache, ORDER_CACHE_CAPACITY};
pub use verified_tokens::CachedTokenVerifier;
