use diesel::result::{DatabaseErrorKind, Error};
use trachios_domain::DomainError;

use crate::pool::PoolError;

/// Maps a query failure into the domain's terms; detail stays in the log.
pub(crate) fn query_error(err: Error) -> DomainError {
    match err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            DomainError::Conflict("already exists".to_owned())
        }
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => {
            tracing::warn!(error = %err, "database connection lost");
            DomainError::Unavailable
        }
        other => {
            tracing::error!(error = %other, "database query failed");
            DomainError::Internal("database query failed".to_owned())
        }
    }
}

/// Failing to get a connection means PostgreSQL is unreachable or saturated.
pub(crate) fn pool_error(err: PoolError) -> DomainError {
    tracing::warn!(error = %err, "no database connection available");
    DomainError::Unavailable
}
