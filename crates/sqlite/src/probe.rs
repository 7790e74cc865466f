use async_trait::async_trait;
use diesel::RunQueryDsl;
use trachios_domain::ports::DependencyProbe;
use trachios_domain::DomainError;

use crate::store::SqliteStore;

/// Readiness: a reader (within its wait timeout) answers `SELECT 1` from the file.
#[derive(Clone)]
pub struct SqliteProbe {
    store: SqliteStore,
}

impl SqliteProbe {
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl DependencyProbe for SqliteProbe {
    async fn check(&self) -> Result<(), DomainError> {
        self.store
            .read(|conn| diesel::sql_query("SELECT 1").execute(conn).map(drop))
            .await
    }
}
