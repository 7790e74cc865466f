//! `EXPLAIN` of the repositories' own queries, so that tests and benchmarks can check the
//! plan of exactly the SQL a request runs rather than a hand-copied version of it.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Text;
use diesel::QueryResult;
use diesel_async::RunQueryDsl;
use trachios_domain::DomainError;

use crate::error::QueryFailure;
use crate::pool::{connection, PgPool};

/// The plan PostgreSQL chooses for a query, one line of `EXPLAIN` per row.
#[derive(Debug, Clone, Copy, QueryId)]
pub(crate) struct Explain<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

/// Runs `EXPLAIN` of `query` and returns the plan as text.
pub(crate) async fn explain<Q>(pool: &PgPool, query: Q) -> Result<String, DomainError>
where
    Q: QueryFragment<Pg> + QueryId + Send,
{
    let mut conn = connection(pool).await?;
    let lines: Vec<String> = Explain(query)
        .load(&mut conn)
        .await
        .or_failure_on(&mut conn)
        .await?;
    Ok(lines.join("\n"))
}
