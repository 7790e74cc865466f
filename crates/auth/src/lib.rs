//! Authentication adapters: HS256 access tokens and argon2id password hashing.
#![deny(unsafe_code)]

mod jwt;
mod password;

pub use jwt::JwtTokenService;
pub use password::Argon2Hasher;
