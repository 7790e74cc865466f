//! What moving a store's data to another store copies, row by row, besides accounts with
//! their password hashes (`UserCredentials`) and orders: every event with what its change
//! produced, and revoked tokens.
//! Ids are kept, so tokens, links and clients' references stay valid after the move.

use chrono::{DateTime, Utc};

use crate::{OrderEvent, TokenId, UserId};

/// An event as stored: the change, and the version and due time it left the order with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: OrderEvent,
    pub version: i64,
    pub next_step_at: Option<DateTime<Utc>>,
    /// For an edit, the JSON document of what it replaced, as both stores keep it.
    pub replaced: Option<String>,
}

/// A token logged out before it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedToken {
    pub token_id: TokenId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
}
