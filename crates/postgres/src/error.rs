use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::pooled_connection::PoolableConnection;
use trachios_domain::DomainError;

use crate::pool::{PgConn, PoolError};

/// How long a failed query's connection is watched for closing: a server that goes away
/// without saying why closes the socket, and the driver notices the close a moment after it
/// hands the error over — later on a loaded machine. Only failures of no known kind wait.
const CLOSE_GRACE: Duration = Duration::from_millis(250);
const CLOSE_POLLS: u32 = 10;

/// Turns a query's failure into the domain's terms, keeping the cause for the edge to log.
pub(crate) trait QueryFailure<T> {
    /// A failure that took the connection with it — a restart, a failover, a terminated
    /// session, a dropped network — is an outage to retry (503), whatever text the server
    /// sent first; anything else is internal (500).
    async fn or_failure_on(self, conn: &mut PgConn) -> Result<T, DomainError>;
}

impl<T> QueryFailure<T> for Result<T, Error> {
    async fn or_failure_on(self, conn: &mut PgConn) -> Result<T, DomainError> {
        match self {
            Ok(value) => Ok(value),
            Err(err) => Err(query_failure(conn, err).await),
        }
    }
}

pub(crate) async fn query_failure(conn: &mut PgConn, err: Error) -> DomainError {
    let err = match err {
        Error::SerializationError(cause) => match cause.downcast::<Refused>() {
            Ok(refusal) => return refusal.0,
            Err(other) => Error::SerializationError(other),
        },
        other => other,
    };
    if is_transient(&err) || connection_lost(conn).await {
        DomainError::unavailable(err)
    } else {
        DomainError::internal(err)
    }
}

/// A domain refusal inside a transaction (too few units), carried out through diesel's
/// error type so that the transaction rolls back, and handed back as itself by
/// `or_failure_on`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct Refused(pub DomainError);

pub(crate) fn refused(err: DomainError) -> Error {
    Error::SerializationError(Box::new(Refused(err)))
}

/// Failures that say by their kind that the database, not the request, is the problem:
/// retrying the request later can succeed (a 503 with `Retry-After`, never a 500).
fn is_transient(err: &Error) -> bool {
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            // A primary turned read-only: a failover is under way.
            | DatabaseErrorKind::ReadOnlyTransaction
            | DatabaseErrorKind::SerializationFailure,
            _,
        )
        | Error::BrokenTransactionManager => true,
        // diesel-async gives deadlocks (SQLSTATE 40P01) no kind of their own and hides the
        // code; the server's message is fixed text unless lc_messages translates it.
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            message == DEADLOCK_MESSAGE
                || OUTAGE_MESSAGE_STARTS
                    .iter()
                    .any(|start| message.starts_with(start))
        }
        _ => false,
    }
}

/// PostgreSQL's message for SQLSTATE 40P01 (deadlock_detected) in its own language.
const DEADLOCK_MESSAGE: &str = "deadlock detected";

/// How PostgreSQL's messages begin when the server ends the session (57P01 administrator
/// command, 57P02 crash of another process, 57P05 and 25P03 timeouts, recovery conflicts)
/// or is not serving (57P03: shutting down, starting up, in recovery): the session is gone
/// whether or not the driver has noticed the closed socket yet.
const OUTAGE_MESSAGE_STARTS: [&str; 2] = ["terminating connection ", "the database system is "];

async fn connection_lost(conn: &mut PgConn) -> bool {
    for _ in 0..CLOSE_POLLS {
        if conn.is_broken() {
            return true;
        }
        tokio::time::sleep(CLOSE_GRACE / CLOSE_POLLS).await;
    }
    conn.is_broken()
}

/// Failing to get a connection means PostgreSQL is unreachable or saturated.
pub(crate) fn pool_error(err: PoolError) -> DomainError {
    DomainError::unavailable(err)
}

/// The one row a write returns, from all the rows it returned. Every statement is read
/// with `load`, never `get_result` (clippy.toml refuses it): diesel-async's `get_result`
/// hands over the first row as soon as it arrives — before the statement's CTEs have
/// finished and before the implicit transaction commits at the protocol's Sync — so a
/// failure after that row (the session terminated while queued for a commit, a deferred
/// check, a crash) went unnoticed and a write was acknowledged that never committed. `load`
/// reads to ReadyForQuery, which carries it.
pub(crate) fn written<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}

/// The row a statement always returns (an aggregate, `EXISTS`), read to the end like a write.
pub(crate) fn the_row<T>(rows: Vec<T>) -> diesel::QueryResult<T> {
    rows.into_iter()
        .next()
        .ok_or(diesel::result::Error::NotFound)
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::is_transient;

    fn unknown(message: &str) -> Error {
        Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned()))
    }

    #[test]
    fn a_session_the_server_ended_is_an_outage_whatever_the_socket_says_yet() {
        for message in [
            "terminating connection due to administrator command",
            "terminating connection because of crash of another server process",
            "terminating connection due to idle-session timeout",
            "the database system is shutting down",
            "the database system is in recovery mode",
            "deadlock detected",
        ] {
            assert!(is_transient(&unknown(message)), "{message}");
        }
        for message in [
            "syntax error at or near \"SELEC\"",
            "column \"x\" does not exist",
        ] {
            assert!(!is_transient(&unknown(message)), "{message}");
        }
    }
}
