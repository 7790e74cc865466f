//! Idempotency keys of bulk requests: claimed before the request runs, answered after.

use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use trachios_domain::{BulkClaim, BulkKeyClaim, DomainError, RequestFingerprint, UserId};

use crate::error::{written, QueryFailure};
use crate::pool::{connection, PgPool};
use crate::statement::{statement, Statement};

/// Takes the key when it is free, expired, or held for the same request by a lease that
/// ran out; in one statement, so that of concurrent claims one wins and the others wait
/// for it on the key's row and then see it.
const CLAIM: &str = "\
INSERT INTO bulk_request_keys AS k
    (user_id, key, fingerprint, response, claimed_at, lease_until, expires_at)
VALUES ($1, $2, $3, NULL, $4, $5, $6)
ON CONFLICT (user_id, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, response = NULL, claimed_at = EXCLUDED.claimed_at,
    lease_until = EXCLUDED.lease_until, expires_at = EXCLUDED.expires_at
WHERE k.expires_at <= EXCLUDED.claimed_at
   OR (k.response IS NULL AND k.lease_until <= EXCLUDED.claimed_at
       AND k.fingerprint = EXCLUDED.fingerprint)
RETURNING k.fingerprint, k.response";

const HOLDER: &str = "\
SELECT fingerprint, response FROM bulk_request_keys WHERE user_id = $1 AND key = $2";

const KEEP: &str = "\
UPDATE bulk_request_keys SET response = $4
WHERE user_id = $1 AND key = $2 AND claimed_at = $3 AND response IS NULL";

const RELEASE: &str = "\
DELETE FROM bulk_request_keys
WHERE user_id = $1 AND key = $2 AND claimed_at = $3 AND response IS NULL";

pub(crate) const PURGE_EXPIRED: &str = "\
DELETE FROM bulk_request_keys WHERE (user_id, key) IN (
    SELECT user_id, key FROM bulk_request_keys WHERE expires_at <= $1 LIMIT $2
)";

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Bytea)]
    fingerprint: Vec<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    response: Option<String>,
}

impl KeyRow {
    fn into_claim(self) -> Result<BulkKeyClaim, DomainError> {
        let fingerprint = <[u8; 32]>::try_from(self.fingerprint.as_slice())
            .map(RequestFingerprint)
            .map_err(|_| DomainError::internal("a bulk request key has a malformed fingerprint"))?;
        Ok(match self.response {
            Some(response) => BulkKeyClaim::Answered {
                fingerprint,
                response,
            },
            None => BulkKeyClaim::Running { fingerprint },
        })
    }
}

pub(crate) async fn claim(
    pool: &PgPool,
    user: UserId,
    claim: &BulkClaim,
) -> Result<BulkKeyClaim, DomainError> {
    let mut conn = connection(pool).await?;
    let claimed = statement(CLAIM)
        .bind::<BigInt, _>(user.get())
        .bind::<Text, _>(claim.key.as_str())
        .bind::<Bytea, _>(claim.fingerprint.0.as_slice())
        .bind::<Timestamptz, _>(claim.claimed_at)
        .bind::<Timestamptz, _>(claim.lease_until)
        .bind::<Timestamptz, _>(claim.expires_at)
        .load::<KeyRow>(&mut conn)
        .await
        .map(written)
        .or_failure_on(&mut conn)
        .await?;
    if claimed.is_some() {
        return Ok(BulkKeyClaim::Claimed);
    }
    let holder = statement(HOLDER)
        .bind::<BigInt, _>(user.get())
        .bind::<Text, _>(claim.key.as_str())
        .load::<KeyRow>(&mut conn)
        .await
        .map(written)
        .or_failure_on(&mut conn)
        .await?;
    // Gone between the two statements only if the purge took it, which it does to keys
    // expired before now, and an expired key would have been claimed above.
    holder
        .ok_or_else(|| DomainError::internal("a bulk request key vanished while being claimed"))?
        .into_claim()
}

pub(crate) async fn keep(
    pool: &PgPool,
    user: UserId,
    claim: &BulkClaim,
    response: &str,
) -> Result<(), DomainError> {
    on_unanswered(pool, of_claim(KEEP, user, claim).bind::<Text, _>(response)).await
}

pub(crate) async fn release(
    pool: &PgPool,
    user: UserId,
    claim: &BulkClaim,
) -> Result<(), DomainError> {
    on_unanswered(pool, of_claim(RELEASE, user, claim)).await
}

/// `sql` with the claim's row named as `$1`–`$3`.
fn of_claim<'a>(sql: &'static str, user: UserId, claim: &'a BulkClaim) -> Statement<'a> {
    statement(sql)
        .bind::<BigInt, _>(user.get())
        .bind::<Text, _>(claim.key.as_str())
        .bind::<Timestamptz, _>(claim.claimed_at)
}

async fn on_unanswered(pool: &PgPool, change: Statement<'_>) -> Result<(), DomainError> {
    let mut conn = connection(pool).await?;
    change
        .execute(&mut conn)
        .await
        .or_failure_on(&mut conn)
        .await?;
    Ok(())
}
