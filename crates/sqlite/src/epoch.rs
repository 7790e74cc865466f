use diesel::prelude::*;
use trachios_domain::DomainError;

use crate::schema::cache_epoch;
use crate::store::SqliteStore;

/// This database's random identity, created by the migrations; Redis cache entries carry
/// it, as with PostgreSQL.
pub async fn cache_epoch(store: &SqliteStore) -> Result<String, DomainError> {
    store
        .read(|conn| cache_epoch::table.select(cache_epoch::epoch).first(conn))
        .await
}
