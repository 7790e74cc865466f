//! A page of one parent's rows (a product's stock movements, an endpoint's delivery log),
//! read without a join to the parent: the rows go with their parent, so only an empty page
//! leaves the parent's existence open, and only then is it asked.

use diesel::sql_types::Bool;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use trachios_domain::DomainError;

use crate::error::{the_row, QueryFailure};
use crate::pool::PgConn;
use crate::statement::Statement;

/// The one row of a `SELECT EXISTS (…) AS found` or a `DELETE … RETURNING` count.
#[derive(QueryableByName)]
pub(crate) struct Found {
    #[diesel(sql_type = Bool)]
    pub found: bool,
}

/// `rows`, or `None` when they are none and `exists` (a statement answering `found`) says
/// the parent is not there.
pub(crate) async fn of_existing_parent<R>(
    conn: &mut PgConn,
    rows: Vec<R>,
    exists: Statement<'_>,
) -> Result<Option<Vec<R>>, DomainError> {
    if !rows.is_empty() {
        return Ok(Some(rows));
    }
    let parent = exists
        .load::<Found>(conn)
        .await
        .and_then(the_row)
        .or_failure_on(conn)
        .await?;
    Ok(parent.found.then_some(rows))
}
