//! In-process adapters: what one process keeps in its own memory in front of the store
//! that every process shares, and the feed that routes committed changes to live streams.

mod account_states;
mod feed;

pub use account_states::CachedAccountStates;
pub use feed::{ChangeHub, SUBSCRIBER_BACKLOG};
