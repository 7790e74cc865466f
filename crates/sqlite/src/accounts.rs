use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use trachios_domain::ports::AccountStates;
use trachios_domain::{AccountStatus, DomainError, Role, TokenId, UserId};

use crate::rows::{instant, micros};
use crate::schema::{revoked_tokens, users};
use crate::store::SqliteStore;

/// Roles, disabled accounts and logged-out tokens in the embedded store. Callers put the
/// same in-process cache in front as for PostgreSQL.
#[derive(Clone)]
pub struct SqliteAccountStates {
    store: SqliteStore,
}

impl SqliteAccountStates {
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

/// A bounded batch of revocations whose tokens have expired anyway, dropped by each logout
/// so that the table holds only what can still matter.
const PURGE_EXPIRED: &str = "\
DELETE FROM revoked_tokens WHERE jti IN (
    SELECT jti FROM revoked_tokens WHERE expires_at < ? LIMIT 1000
)";

#[async_trait]
impl AccountStates for SqliteAccountStates {
    async fn status(
        &self,
        user_id: UserId,
        token_id: &TokenId,
    ) -> Result<Option<AccountStatus>, DomainError> {
        let jti = token_id.as_str().to_owned();
        let found = self
            .store
            .read(move |conn| {
                let account: Option<AccountRow> = users::table
                    .find(user_id.get())
                    .select((
                        users::role,
                        users::disabled,
                        users::tokens_valid_after,
                        users::tokens_kept_jti,
                    ))
                    .first(conn)
                    .optional()?;
                let revoked: bool =
                    diesel::select(diesel::dsl::exists(revoked_tokens::table.find(&jti)))
                        .get_result(conn)?;
                Ok(account.map(|account| (account, revoked, jti)))
            })
            .await?;
        found
            .map(
                |((role, disabled, valid_after, kept), token_revoked, jti)| {
                    Ok(AccountStatus {
                        role: Role::parse(&role).map_err(DomainError::corrupt_row)?,
                        disabled,
                        token_revoked,
                        tokens_valid_after: valid_after.map(instant).transpose()?,
                        token_kept: kept.as_deref() == Some(jti.as_str()),
                    })
                },
            )
            .transpose()
    }

    async fn revoke(
        &self,
        user_id: UserId,
        token_id: &TokenId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let jti = token_id.as_str().to_owned();
        let now = micros(Utc::now());
        self.store
            .write(
                move |conn| {
                    diesel::sql_query(PURGE_EXPIRED)
                        .bind::<BigInt, _>(now)
                        .execute(conn)?;
                    diesel::insert_or_ignore_into(revoked_tokens::table)
                        .values((
                            revoked_tokens::jti.eq(jti),
                            revoked_tokens::user_id.eq(user_id.get()),
                            revoked_tokens::expires_at.eq(micros(expires_at)),
                        ))
                        .execute(conn)
                        .map(drop)
                },
                |_, _| {},
            )
            .await
    }

    async fn end_sessions(
        &self,
        user_id: UserId,
        at: DateTime<Utc>,
        _current: &TokenId,
    ) -> Result<(), DomainError> {
        self.store
            .write(
                move |conn| {
                    diesel::sql_query(END_SESSIONS)
                        .bind::<BigInt, _>(micros(at))
                        .bind::<BigInt, _>(user_id.get())
                        .execute(conn)
                        .map(drop)
                },
                |_, _| {},
            )
            .await
    }
}

/// Role, disabled, tokens valid after, the kept token.
type AccountRow = (String, bool, Option<i64>, Option<String>);

/// Ends every token issued until `?1`; a later end already recorded stays.
const END_SESSIONS: &str = "\
UPDATE users SET tokens_valid_after = max(coalesce(tokens_valid_after, ?1), ?1),
                 tokens_kept_jti = NULL
WHERE id = ?2";
