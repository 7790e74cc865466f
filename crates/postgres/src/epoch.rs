use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use trachios_domain::DomainError;

use crate::error::QueryFailure;
use crate::pool::{connection, PgPool};
use crate::schema::cache_epoch;

/// This database's random identity, created by the migrations; cache entries carry it.
pub async fn cache_epoch(pool: &PgPool) -> Result<String, DomainError> {
    let mut conn = connection(pool).await?;
    cache_epoch::table
        .select(cache_epoch::epoch)
        .first(&mut conn)
        .await
        .or_failure_on(&mut conn)
        .await
}
