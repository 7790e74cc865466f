//! The Redis order cache adapter (deadpool-redis): versioned entries written by a Lua
//! compare-and-set, customers' first pages kept under list generations, bounded timeouts
//! and a circuit breaker, so that Redis is an optimisation and never a dependency.

mod breaker;
mod cache;
mod endpoint;
mod entry;
mod fence;
mod page_entry;
mod poison;
mod stats;
mod thread_slots;

pub use breaker::CircuitBreaker;
pub use cache::{CacheSettings, CacheSetupError, RedisOrderCache};
pub use endpoint::{client, connection_info, RedisEndpointError};
pub use stats::CacheStats;
