//! Hand-written SQL that the connection prepares once and reuses. `diesel::sql_query` marks
//! itself unsafe to cache, so each execution was prepared anew (`execute s24`, `s25`, …: an
//! extra round trip plus a parse and plan every time); a `Statement` is a constant text with
//! typed binds, which diesel's per-connection statement cache keys by that text.
//!
//! The background workers' statements that pick rows by a range or a list (the claims of due
//! orders and deliveries, the purges, the follower's poll) are the exception: they are
//! [planned each time](Statement::planned_each_time).

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::result::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};

/// A constant SQL text whose `$n` placeholders take the binds in order.
#[must_use = "statements run only when loaded or executed"]
pub(crate) struct Statement<'a> {
    sql: &'static str,
    binds: Vec<Box<dyn QueryFragment<Pg> + Send + 'a>>,
    planned_each_time: bool,
}

pub(crate) fn statement<'a>(sql: &'static str) -> Statement<'a> {
    Statement {
        sql,
        binds: Vec::new(),
        planned_each_time: false,
    }
}

impl<'a> Statement<'a> {
    /// The value of the next placeholder (`$1`, then `$2`, …), as SQL type `ST`.
    pub(crate) fn bind<ST, U>(mut self, value: U) -> Self
    where
        Pg: HasSqlType<ST>,
        U: ToSql<ST, Pg> + Send + 'a,
        ST: 'a,
    {
        self.binds.push(Box::new(Bind {
            value,
            sql_type: PhantomData::<fn() -> ST>,
        }));
        self
    }

    /// Sent unnamed, so that PostgreSQL plans it with its values and current statistics on
    /// every execution instead of keeping the connection's plan. A plan cached while a
    /// table was small (a new database, or before autovacuum's next ANALYZE) keeps
    /// scanning and sorting the whole table once it is large: measured, the lifecycle's
    /// claim read all 262,000 orders on every tick (40 ms), and the webhook claim, with a
    /// nested loop over 200,000 pending deliveries, took 46 s to claim 100 of 1,000 due.
    /// For statements that run once a tick, a plan per execution (about a millisecond) is
    /// the cheaper side of that trade.
    pub(crate) fn planned_each_time(mut self) -> Self {
        self.planned_each_time = true;
        self
    }
}

/// One value and the SQL type it is sent as.
struct Bind<ST, U> {
    value: U,
    sql_type: PhantomData<fn() -> ST>,
}

impl<ST, U> QueryFragment<Pg> for Bind<ST, U>
where
    Pg: HasSqlType<ST>,
    U: ToSql<ST, Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, U>(&self.value)
    }
}

impl QueryFragment<Pg> for Statement<'_> {
    /// The text with every `$n` replaced by the n-th bind: diesel numbers the parameters as
    /// it meets them, so a placeholder used twice is bound twice, and both passes (the
    /// SQL and the values) walk the binds in the same order.
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if self.planned_each_time {
            out.unsafe_to_cache_prepared();
        }
        let mut rest = self.sql;
        while let Some((before, number, after)) = next_placeholder(rest) {
            out.push_sql(before);
            let bind = number
                .checked_sub(1)
                .and_then(|index| self.binds.get(index))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("${number} has no bind in {:?}", self.sql).into(),
                    )
                })?;
            bind.walk_ast(out.reborrow())?;
            rest = after;
        }
        out.push_sql(rest);
        Ok(())
    }
}

/// The text before the first `$n`, n, and the text after it.
fn next_placeholder(sql: &str) -> Option<(&str, usize, &str)> {
    let mut search = 0;
    while let Some(offset) = sql[search..].find('$') {
        let at = search + offset;
        let digits = sql[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(sql.len() - at - 1);
        if let Ok(number) = sql[at + 1..at + 1 + digits].parse() {
            return Some((&sql[..at], number, &sql[at + 1 + digits..]));
        }
        search = at + 1;
    }
    None
}

impl QueryId for Statement<'_> {
    type QueryId = ();
    // Not a static id: the cache keys the statement by its text and bind types instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Statement<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::{BigInt, Text};

    fn rendered(statement: &Statement<'_>) -> String {
        diesel::debug_query::<Pg, _>(statement).to_string()
    }

    fn fails_to_render(statement: &Statement<'_>) -> bool {
        use std::fmt::Write;
        write!(String::new(), "{}", diesel::debug_query::<Pg, _>(statement)).is_err()
    }

    #[test]
    fn placeholders_take_the_binds_in_number_order_even_when_repeated() {
        let sql = rendered(
            &statement("SELECT $2::text, $1, $1 + 1, '$' || $10x")
                .bind::<BigInt, _>(7_i64)
                .bind::<Text, _>("a")
                .bind::<BigInt, _>(3_i64)
                .bind::<BigInt, _>(4_i64)
                .bind::<BigInt, _>(5_i64)
                .bind::<BigInt, _>(6_i64)
                .bind::<BigInt, _>(7_i64)
                .bind::<BigInt, _>(8_i64)
                .bind::<BigInt, _>(9_i64)
                .bind::<BigInt, _>(10_i64),
        );
        assert_eq!(
            sql,
            "SELECT $1::text, $2, $3 + 1, '$' || $4x -- binds: [\"a\", 7, 7, 10]"
        );
    }

    #[test]
    fn a_placeholder_without_its_bind_is_an_error_not_a_panic() {
        let missing = statement("SELECT $1, $2").bind::<BigInt, _>(1_i64);
        assert!(fails_to_render(&missing));
        assert!(fails_to_render(&statement("SELECT $0")));
    }

    #[test]
    fn only_a_statement_planned_each_time_is_kept_out_of_the_statement_cache() {
        let cached = statement("SELECT $1").bind::<BigInt, _>(1_i64);
        let fresh = statement("SELECT $1")
            .bind::<BigInt, _>(1_i64)
            .planned_each_time();
        assert!(cached.is_safe_to_cache_prepared(&Pg).unwrap());
        assert!(!fresh.is_safe_to_cache_prepared(&Pg).unwrap());
    }

    #[test]
    fn text_without_placeholders_is_sent_as_it_is() {
        assert_eq!(rendered(&statement("SELECT 1")), "SELECT 1 -- binds: []");
    }
}
