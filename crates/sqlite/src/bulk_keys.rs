//! Idempotency keys of bulk requests: claimed before the request runs, answered after. The
//! single writer makes each of these one decision, whatever runs beside it.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::SqliteConnection;
use trachios_domain::{BulkClaim, BulkKeyClaim, DomainError, RequestFingerprint, UserId};

use crate::error::refused;
use crate::rows::micros;
use crate::schema::bulk_request_keys as keys;
use crate::store::SqliteStore;

pub(crate) const PURGE_EXPIRED: &str = "\
DELETE FROM bulk_request_keys WHERE rowid IN (
    SELECT rowid FROM bulk_request_keys WHERE expires_at <= ? LIMIT ?
)";

/// Answers the claim, if it is still this claim's (named by its time) and unanswered: `?1`–`?3`
/// name the claim, as in `RELEASE`.
const KEEP: &str = "\
UPDATE bulk_request_keys SET response = ?4
WHERE user_id = ?1 AND key = ?2 AND claimed_at = ?3 AND response IS NULL";

const RELEASE: &str = "\
DELETE FROM bulk_request_keys
WHERE user_id = ?1 AND key = ?2 AND claimed_at = ?3 AND response IS NULL";

pub(crate) async fn claim(
    store: &SqliteStore,
    user: UserId,
    claim: &BulkClaim,
) -> Result<BulkKeyClaim, DomainError> {
    let claim = claim.clone();
    store
        .write(move |conn| take(conn, user, &claim), |_, _| {})
        .await
}

fn take(
    conn: &mut SqliteConnection,
    user: UserId,
    claim: &BulkClaim,
) -> Result<BulkKeyClaim, diesel::result::Error> {
    let now = micros(claim.claimed_at);
    let held: Option<(Vec<u8>, Option<String>, i64, i64)> = keys::table
        .find((user.get(), claim.key.as_str()))
        .select((
            keys::fingerprint,
            keys::response,
            keys::lease_until,
            keys::expires_at,
        ))
        .first(conn)
        .optional()?;
    if let Some((fingerprint, response, lease_until, expires_at)) = held {
        let fingerprint = <[u8; 32]>::try_from(fingerprint.as_slice())
            .map(RequestFingerprint)
            .map_err(|_| {
                refused(DomainError::internal(
                    "a bulk request key has a malformed fingerprint",
                ))
            })?;
        let abandoned =
            response.is_none() && lease_until <= now && fingerprint == claim.fingerprint;
        if expires_at > now && !abandoned {
            return Ok(match response {
                Some(response) => BulkKeyClaim::Answered {
                    fingerprint,
                    response,
                },
                None => BulkKeyClaim::Running { fingerprint },
            });
        }
    }
    diesel::replace_into(keys::table)
        .values((
            keys::user_id.eq(user.get()),
            keys::key.eq(claim.key.as_str()),
            keys::fingerprint.eq(claim.fingerprint.0.as_slice()),
            keys::response.eq(None::<String>),
            keys::claimed_at.eq(now),
            keys::lease_until.eq(micros(claim.lease_until)),
            keys::expires_at.eq(micros(claim.expires_at)),
        ))
        .execute(conn)?;
    Ok(BulkKeyClaim::Claimed)
}

pub(crate) async fn keep(
    store: &SqliteStore,
    user: UserId,
    claim: &BulkClaim,
    response: &str,
) -> Result<(), DomainError> {
    on_unanswered(store, KEEP, user, claim, Some(response.to_owned())).await
}

pub(crate) async fn release(
    store: &SqliteStore,
    user: UserId,
    claim: &BulkClaim,
) -> Result<(), DomainError> {
    on_unanswered(store, RELEASE, user, claim, None).await
}

/// Runs `sql` on the claim's row (`?1`–`?3`), with the answer as `?4` when there is one.
async fn on_unanswered(
    store: &SqliteStore,
    sql: &'static str,
    user: UserId,
    claim: &BulkClaim,
    response: Option<String>,
) -> Result<(), DomainError> {
    let (key, claimed_at) = (claim.key.as_str().to_owned(), micros(claim.claimed_at));
    store
        .write(
            move |conn| {
                let query = diesel::sql_query(sql)
                    .into_boxed()
                    .bind::<BigInt, _>(user.get())
                    .bind::<Text, _>(key)
                    .bind::<BigInt, _>(claimed_at);
                match response {
                    Some(response) => query.bind::<Text, _>(response).execute(conn),
                    None => query.execute(conn),
                }
            },
            |_, _| {},
        )
        .await?;
    Ok(())
}
