use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use trachios_domain::ports::AccountStates;
use trachios_domain::{AccountStatus, DomainError, Role, TokenId, UserId};

use crate::rows::micros;
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
                let account: Option<(String, bool)> = users::table
                    .find(user_id.get())
                    .select((users::role, users::disabled))
                    .first(conn)
                    .optional()?;
                let revoked: bool =
                    diesel::select(diesel::dsl::exists(revoked_tokens::table.find(jti)))
                        .get_result(conn)?;
                Ok(account.map(|(role, disabled)| (role, disabled, revoked)))
            })
            .await?;
        found
            .map(|(role, disabled, token_revoked)| {
                Ok(AccountStatus {
                    role: Role::parse(&role).map_err(DomainError::corrupt_row)?,
                    disabled,
                    token_revoked,
                })
            })
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
}
