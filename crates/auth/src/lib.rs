//! Authentication adapters: HS256 access tokens and argon2id password hashing.

mod gate;
mod jwt;
mod password;

pub use gate::{HashLimits, Saturated};
pub use jwt::{JwtTokenService, TokenSetupError};
pub use password::{argon2id, Argon2Hasher, HasherSetupError};
