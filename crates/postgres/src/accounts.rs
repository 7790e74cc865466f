use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use trachios_domain::ports::AccountStates;
use trachios_domain::{AccountStatus, DomainError, TokenId, UserId};

use crate::error::{written, QueryFailure};
use crate::pool::{connection, PgPool};
use crate::rows::DbRole;
use crate::schema::sql_types;
use crate::statement::statement;

/// Roles, disabled accounts and logged-out tokens in PostgreSQL, which every process
/// shares. Callers put an in-process cache in front: this is one round trip per lookup.
#[derive(Clone)]
pub struct PgAccountStates {
    pool: PgPool,
}

impl PgAccountStates {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The account and whether this token was revoked, in one round trip.
const STATUS: &str = "\
SELECT u.role, u.disabled,
       EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $2) AS token_revoked,
       u.tokens_valid_after, u.tokens_kept_jti IS NOT DISTINCT FROM $2 AS token_kept
FROM users u WHERE u.id = $1";

/// Ends every token issued until `$2`; a later end already recorded stays.
const END_SESSIONS: &str = "\
UPDATE users SET tokens_valid_after = GREATEST(tokens_valid_after, $2), tokens_kept_jti = NULL
WHERE id = $1";

/// Records the revocation and drops a bounded batch of revocations whose tokens have
/// expired anyway, so the table holds only what can still matter.
const REVOKE: &str = "\
WITH purged AS (
    DELETE FROM revoked_tokens WHERE jti IN (
        SELECT jti FROM revoked_tokens WHERE expires_at < now() LIMIT 1000
    )
)
INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (jti) DO NOTHING";

#[derive(QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = sql_types::UserRole)]
    role: DbRole,
    #[diesel(sql_type = Bool)]
    disabled: bool,
    #[diesel(sql_type = Bool)]
    token_revoked: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    tokens_valid_after: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    token_kept: bool,
}

#[async_trait]
impl AccountStates for PgAccountStates {
    async fn status(
        &self,
        user_id: UserId,
        token_id: &TokenId,
    ) -> Result<Option<AccountStatus>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let row = statement(STATUS)
            .bind::<BigInt, _>(user_id.get())
            .bind::<Text, _>(token_id.as_str())
            .load::<StatusRow>(&mut conn)
            .await
            .map(written)
            .or_failure_on(&mut conn)
            .await?;
        Ok(row.map(|r| AccountStatus {
            role: r.role.0,
            disabled: r.disabled,
            token_revoked: r.token_revoked,
            tokens_valid_after: r.tokens_valid_after,
            token_kept: r.token_kept,
        }))
    }

    async fn end_sessions(
        &self,
        user_id: UserId,
        at: DateTime<Utc>,
        _current: &TokenId,
    ) -> Result<(), DomainError> {
        let mut conn = connection(&self.pool).await?;
        statement(END_SESSIONS)
            .bind::<BigInt, _>(user_id.get())
            .bind::<Timestamptz, _>(at)
            .execute(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(())
    }

    async fn revoke(
        &self,
        user_id: UserId,
        token_id: &TokenId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let mut conn = connection(&self.pool).await?;
        statement(REVOKE)
            .bind::<Text, _>(token_id.as_str())
            .bind::<BigInt, _>(user_id.get())
            .bind::<Timestamptz, _>(expires_at)
            .execute(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(())
    }
}
