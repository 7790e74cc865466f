use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};

/// A connection URL with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("//") && !server.ends_with('/') => server,
        _ => base.trim_end_matches('/'),
    };
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Why a database could not be created, listed or dropped.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot connect to PostgreSQL")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot {action}")]
    Query {
        action: String,
        #[source]
        source: diesel::result::Error,
    },
}

fn failed(action: impl Into<String>) -> impl FnOnce(diesel::result::Error) -> AdminError {
    let action = action.into();
    move |source| AdminError::Query { action, source }
}

async fn maintenance(url: &str) -> Result<AsyncPgConnection, AdminError> {
    Ok(crate::endpoint::connect(&with_database(url, "postgres")).await?)
}

/// Creates the database named in `url` unless it exists; returns whether it was created.
pub async fn create_database_if_missing(url: &str, name: &str) -> Result<bool, AdminError> {
    create_database(url, name, None).await
}

/// Creates database `name` as a copy of `template` (much faster than migrating a new one);
/// returns whether it was created.
pub async fn create_database_from_template(
    url: &str,
    name: &str,
    template: &str,
) -> Result<bool, AdminError> {
    create_database(url, name, Some(template)).await
}

async fn create_database(
    url: &str,
    name: &str,
    template: Option<&str>,
) -> Result<bool, AdminError> {
    let mut conn = maintenance(url).await?;
    let sql = match template {
        Some(t) => format!("CREATE DATABASE {} TEMPLATE {}", quoted(name), quoted(t)),
        None => format!("CREATE DATABASE {}", quoted(name)),
    };
    match conn.batch_execute(&sql).await {
        Ok(()) => Ok(true),
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("already exists") =>
        {
            Ok(false)
        }
        Err(e) => Err(failed(format!("create database {name}"))(e)),
    }
}

/// Drops a database, disconnecting whoever still uses it.
pub async fn drop_database(url: &str, name: &str) -> Result<(), AdminError> {
    let mut conn = maintenance(url).await?;
    conn.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quoted(name)
    ))
    .await
    .map_err(failed(format!("drop database {name}")))
}

/// The names of every database whose name starts with `prefix`.
pub async fn databases_with_prefix(url: &str, prefix: &str) -> Result<Vec<String>, AdminError> {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Db {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let mut conn = maintenance(url).await?;
    let pattern = format!("{}%", prefix.replace('_', "\\_"));
    let names: Vec<Db> = diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
        .bind::<Text, _>(pattern)
        .load(&mut conn)
        .await
        .map_err(failed("list databases"))?;
    Ok(names.into_iter().map(|db| db.datname).collect())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name_and_keeps_options() {
        assert_eq!(
            with_database("postgres://u@h:5432/app", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/app?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "t1"),
            "postgres://u@h:5432/t1"
        );
    }
}
