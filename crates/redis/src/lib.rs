//! The Redis order cache adapter (deadpool-redis).
#![deny(unsafe_code)]
