use async_trait::async_trait;
use diesel_async::RunQueryDsl;
use trachios_domain::ports::DependencyProbe;
use trachios_domain::DomainError;

use crate::error::QueryFailure;
use crate::pool::{connection, PgPool};
use crate::statement::statement;

/// Readiness: a connection from the pool (within its wait timeout) answers `SELECT 1`.
#[derive(Clone)]
pub struct PgProbe {
    pool: PgPool,
}

impl PgProbe {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl DependencyProbe for PgProbe {
    async fn check(&self) -> Result<(), DomainError> {
        let mut conn = connection(&self.pool).await?;
        statement("SELECT 1")
            .execute(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await
            .map(drop)
    }
}
