use crate::order::OrderStatus;

/// Any failure of an adapter, kept whole so that the edge can log its full cause chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in business terms; adapters map their failures into it and keep the
/// cause. Nothing logs a `DomainError` but the edge that turns it into a response (the HTTP
/// error mapping, the lifecycle worker), so each failure is logged exactly once.
#[derive(Debug, thiserror::Error)]
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
    #[error("email already registered")]
    EmailTaken,
    /// Another product has the sku, written with any case.
    #[error("a product with this sku exists already")]
    SkuTaken,
    /// The request does not fit the state the resource is in; nothing was changed.
    #[error("{0}")]
    Conflict(&'static str),
    /// A change kept losing its compare-and-set to concurrent changes.
    #[error("the order is changing too fast; try again")]
    Contended,
    /// An idempotency key came back with a request other than the one it was first used for.
    #[error("Idempotency-Key was already used for a different request")]
    KeyReused,
    #[error("cannot change order status from {from} to {to}")]
    InvalidTransition { from: OrderStatus, to: OrderStatus },
    /// The client has used up a limit; the request had no effect.
    #[error("too many requests; try again in {} s", retry_after_seconds(*.retry_after))]
    RateLimited { retry_after: std::time::Duration },
    /// The customer has as many unfinished orders as one may (`OPEN_ORDERS_PER_USER`).
    #[error("too many open orders: at most {limit} may be neither delivered nor cancelled")]
    TooManyOpenOrders { limit: u32 },
    /// A product has fewer units than asked for; nothing was changed.
    #[error("not enough stock for {sku}: {left} left")]
    OutOfStock { sku: String, left: i64 },
    /// A product's stock would pass the most it may hold; nothing was changed.
    #[error("the stock of {sku} would exceed {max}")]
    StockFull { sku: String, max: i64 },
    /// A dependency (the database) cannot be reached now; the caller may retry.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// Never shown to a client; the cause is for the log.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl DomainError {
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    /// A stored value the domain refuses, found by an adapter: the row was written by
    /// something other than this service, or a rule was tightened without migrating the data.
    pub fn corrupt_row(refusal: DomainError) -> Self {
        Self::internal(CorruptRow(refusal))
    }

    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Self::Unavailable(cause.into())
    }

    /// This error and every cause under it, joined by `: `, for one log field.
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// Whole seconds to wait, rounded up and at least one: `Retry-After` has no fractions, and
/// a client told "0" would retry at once into the same limit.
pub fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

/// An error and every cause under it, joined by `: `.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}

/// A stored value the domain refuses: the row was written by something else than this
/// service, and is never trusted.
pub(crate) fn corrupt<T>(parsed: Result<T, DomainError>) -> Result<T, DomainError> {
    parsed.map_err(DomainError::corrupt_row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_every_cause() {
        let io = std::io::Error::other("connection reset by peer");
        let err = DomainError::unavailable(io);
        assert_eq!(
            err.chain(),
            "service temporarily unavailable: connection reset by peer"
        );
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a stored row breaks a domain rule")]
struct CorruptRow(#[source] DomainError);
