use diesel::result::{DatabaseErrorKind, Error};
use trachios_domain::DomainError;

/// A query's failure in the domain's terms. A file that is locked by someone else beyond
/// the busy timeout, or a disk that is full or gone, is an outage the caller may retry
/// (503); anything else is internal (500).
pub(crate) fn query_failure(err: Error) -> DomainError {
    let transient = match &err {
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            ["database is locked", "disk", "unable to open", "readonly"]
                .iter()
                .any(|sign| message.contains(sign))
        }
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        _ => false,
    };
    if transient {
        DomainError::unavailable(err)
    } else {
        DomainError::internal(err)
    }
}

/// A domain failure inside a transaction, carried out through diesel's error type so that
/// the transaction rolls back, and turned back into itself afterwards.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct Refused(pub DomainError);

pub(crate) fn refused(err: DomainError) -> Error {
    Error::SerializationError(Box::new(Refused(err)))
}

/// The failure of a whole transaction: a domain refusal as it was, a query's as above.
pub(crate) fn transaction_failure(err: Error) -> DomainError {
    match err {
        Error::SerializationError(cause) => match cause.downcast::<Refused>() {
            Ok(refusal) => refusal.0,
            Err(other) => DomainError::internal(other),
        },
        other => query_failure(other),
    }
}
