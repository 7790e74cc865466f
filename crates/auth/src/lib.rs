//! Authentication adapters: HS256 access tokens and argon2id password hashing.

mod jwt;
mod password;

pub use jwt::{JwtTokenService, TokenSetupError};
pub use password::{Argon2Hasher, HasherSetupError};
