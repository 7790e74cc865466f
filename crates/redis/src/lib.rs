//! The Redis order cache adapter (deadpool-redis): versioned entries written by a Lua
//! compare-and-set, bounded timeouts and a circuit breaker, so that Redis is an
//! optimisation and never a dependency.
#![deny(unsafe_code)]

mod breaker;
mod cache;
mod entry;
mod stats;

pub use breaker::CircuitBreaker;
pub use cache::{CacheSettings, RedisOrderCache};
pub use stats::CacheStats;
