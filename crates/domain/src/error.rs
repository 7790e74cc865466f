use crate::order::OrderStatus;

/// What went wrong, in business terms; adapters map their failures into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    Validation(String),
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("missing or invalid token")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("cannot change order status from {from} to {to}")]
    InvalidTransition { from: OrderStatus, to: OrderStatus },
    #[error("service temporarily unavailable")]
    Unavailable,
    /// Detail is for the log only; it is never shown to a client.
    #[error("internal error: {0}")]
    Internal(String),
}
