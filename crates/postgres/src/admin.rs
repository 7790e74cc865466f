use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use trachios_domain::DomainError;

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

async fn maintenance(url: &str) -> Result<AsyncPgConnection, DomainError> {
    AsyncPgConnection::establish(&with_database(url, "postgres"))
        .await
        .map_err(|e| DomainError::Internal(format!("cannot connect to PostgreSQL: {e}")))
}

/// Creates the database named in `url` unless it exists; returns whether it was created.
pub async fn create_database_if_missing(url: &str, name: &str) -> Result<bool, DomainError> {
    let mut conn = maintenance(url).await?;
    match conn
        .batch_execute(&format!("CREATE DATABASE {}", quoted(name)))
        .await
    {
        Ok(()) => Ok(true),
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("already exists") =>
        {
            Ok(false)
        }
        Err(e) => Err(DomainError::Internal(format!(
            "cannot create database {name}: {e}"
        ))),
    }
}

/// Drops a database, disconnecting whoever still uses it.
pub async fn drop_database(url: &str, name: &str) -> Result<(), DomainError> {
    let mut conn = maintenance(url).await?;
    conn.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quoted(name)
    ))
    .await
    .map_err(|e| DomainError::Internal(format!("cannot drop database {name}: {e}")))
}

/// Drops every database whose name starts with `prefix` (leftovers of test runs).
pub async fn drop_databases_with_prefix(url: &str, prefix: &str) -> Result<usize, DomainError> {
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
        .map_err(|e| DomainError::Internal(format!("cannot list databases: {e}")))?;
    for db in &names {
        drop_database(url, &db.datname).await?;
    }
    Ok(names.len())
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
