//! In-process adapters: what one process keeps in its own memory in front of the store
//! that every process shares.

mod account_states;

pub use account_states::CachedAccountStates;
