//! Authentication adapters: HS256 access tokens, argon2id password hashing, and the sealing
//! of secrets the store keeps.

mod gate;
mod jwt;
mod password;
mod sealing;

pub use gate::{HashLimits, Saturated};
pub use jwt::{JwtTokenService, TokenSetupError};
pub use password::{argon2id, Argon2Hasher, HasherSetupError};
pub use sealing::SecretBox;
