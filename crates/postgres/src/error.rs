use diesel::result::{DatabaseErrorKind, Error};
use trachios_domain::DomainError;

use crate::pool::PoolError;

/// Maps a query failure into the domain's terms, keeping the cause for the edge to log.
pub(crate) fn query_error(err: Error) -> DomainError {
    match err {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => DomainError::unavailable(err),
        other => DomainError::internal(other),
    }
}

/// Failing to get a connection means PostgreSQL is unreachable or saturated.
pub(crate) fn pool_error(err: PoolError) -> DomainError {
    DomainError::unavailable(err)
}

/// A stored value the domain refuses: the row was written by something other than
/// this service, or a rule was tightened without migrating the data.
pub(crate) fn corrupt_row(err: DomainError) -> DomainError {
    DomainError::internal(CorruptRow(err))
}

#[derive(Debug, thiserror::Error)]
#[error("a stored row breaks a domain rule")]
struct CorruptRow(#[source] DomainError);
