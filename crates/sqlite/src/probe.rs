use async_trait::async_trait;
use diesel::RunQueryDsl;
use trachios_domain::ports::DependencyProbe;
use trachios_domain::DomainError;

use crate::store::SqliteStore;

/// Readiness: a reader (within its wait timeout) reads the file: the schema and the
/// newest row of the main tables, a handful of pages whatever the file's size. `SELECT 1`
/// touched no page, so a damaged file answered ready while every real query failed.
#[derive(Clone)]
pub struct SqliteProbe {
    store: SqliteStore,
}

impl SqliteProbe {
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

/// `max(rowid)` walks from a table's root to its last leaf only.
const READ_A_FEW_PAGES: &str = "\
SELECT (SELECT count(*) FROM sqlite_schema),
       (SELECT max(rowid) FROM users),
       (SELECT max(rowid) FROM orders),
       (SELECT max(rowid) FROM order_events)";

#[async_trait]
impl DependencyProbe for SqliteProbe {
    async fn check(&self) -> Result<(), DomainError> {
        self.store
            .read(|conn| diesel::sql_query(READ_A_FEW_PAGES).execute(conn).map(drop))
            .await
    }
}
