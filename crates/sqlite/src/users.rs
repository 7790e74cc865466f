use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sqlite::Sqlite;
use trachios_domain::ports::UserRepository;
use trachios_domain::{
    DomainError, Email, NewUser, PasswordHash, TokenId, User, UserChange, UserCredentials,
    UserFilter, UserId,
};

use crate::error::refused;
use crate::rows::{micros, UserRow};
use crate::schema::users;
use crate::store::SqliteStore;

/// Accounts in the embedded store.
#[derive(Clone)]
pub struct SqliteUserRepository {
    store: SqliteStore,
}

impl SqliteUserRepository {
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

/// An admin's change to an account; `None` fields are left as they are.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChangeRow {
    role: Option<&'static str>,
    disabled: Option<bool>,
    updated_at: i64,
    tokens_valid_after: Option<i64>,
    tokens_kept_jti: Option<Option<String>>,
}

/// One keyset page: the filter's conditions, ids below `before`, newest first.
fn list_query(
    filter: &UserFilter,
    before: Option<i64>,
    limit: usize,
) -> users::BoxedQuery<'static, Sqlite, SqlTypeOf<AsSelect<UserRow, Sqlite>>> {
    let mut query = users::table
        .select(UserRow::as_select())
        .order(users::id.desc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(users::id.lt(before));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    if let Some(email) = &filter.email {
        query = query.filter(users::email.eq(email.as_str().to_owned()));
    }
    query
}

#[async_trait]
impl UserRepository for SqliteUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, DomainError> {
        let now = micros(Utc::now());
        let row = self
            .store
            .write(
                move |conn| {
                    diesel::insert_into(users::table)
                        .values((
                            users::name.eq(user.name.as_str()),
                            users::email.eq(user.email.as_str()),
                            users::password_hash.eq(user.password_hash.as_str()),
                            users::role.eq(user.role.as_str()),
                            users::created_at.eq(now),
                            users::updated_at.eq(now),
                        ))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .map_err(|err| match err {
                            // The only unique column besides the generated id.
                            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                                refused(DomainError::EmailTaken)
                            }
                            other => other,
                        })
                },
                |_, _| {},
            )
            .await?;
        row.into_user()
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, DomainError> {
        self.store
            .read(move |conn| {
                users::table
                    .find(id.get())
                    .select(UserRow::as_select())
                    .first(conn)
                    .optional()
            })
            .await?
            .map(UserRow::into_user)
            .transpose()
    }

    async fn find_credentials(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, DomainError> {
        let email = email.as_str().to_owned();
        let Some(mut row) = self
            .store
            .read(move |conn| {
                users::table
                    .filter(users::email.eq(email))
                    .select(UserRow::as_select())
                    .first(conn)
                    .optional()
            })
            .await?
        else {
            return Ok(None);
        };
        let password_hash = PasswordHash::new(std::mem::take(&mut row.password_hash));
        Ok(Some(UserCredentials {
            user: row.into_user()?,
            password_hash,
        }))
    }

    async fn change_password(
        &self,
        id: UserId,
        hash: PasswordHash,
        at: DateTime<Utc>,
        kept: &TokenId,
    ) -> Result<bool, DomainError> {
        let (hash, kept) = (hash.as_str().to_owned(), kept.as_str().to_owned());
        let changed = self
            .store
            .write(
                move |conn| {
                    diesel::update(users::table.find(id.get()))
                        .set((
                            users::password_hash.eq(hash),
                            users::tokens_valid_after.eq(micros(at)),
                            users::tokens_kept_jti.eq(kept),
                            users::updated_at.eq(micros(at)),
                        ))
                        .execute(conn)
                },
                |_, _| {},
            )
            .await?;
        Ok(changed > 0)
    }

    async fn update(
        &self,
        id: UserId,
        change: UserChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, DomainError> {
        let row = UserChangeRow {
            role: change.role.map(|r| r.as_str()),
            disabled: change.disabled,
            updated_at: micros(at),
            tokens_valid_after: change.ends_sessions().then_some(micros(at)),
            tokens_kept_jti: change.ends_sessions().then_some(None),
        };
        self.store
            .write(
                move |conn| {
                    diesel::update(users::table.find(id.get()))
                        .set(row)
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .optional()
                },
                |_, _| {},
            )
            .await?
            .map(UserRow::into_user)
            .transpose()
    }

    async fn list(
        &self,
        filter: &UserFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<User>, DomainError> {
        let query = list_query(filter, before, limit);
        let rows: Vec<UserRow> = self.store.read(move |conn| query.load(conn)).await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    async fn emails(&self, ids: &[UserId]) -> Result<Vec<(UserId, Email)>, DomainError> {
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let rows: Vec<(i64, String)> = self
            .store
            .read(move |conn| {
                users::table
                    .filter(users::id.eq_any(ids))
                    .select((users::id, users::email))
                    .load(conn)
            })
            .await?;
        rows.into_iter().map(stored_email).collect()
    }
}

/// An account's id and e-mail as stored, checked again as they are read back.
fn stored_email((id, email): (i64, String)) -> Result<(UserId, Email), DomainError> {
    Ok((UserId::parse(id)?, Email::parse(&email)?))
}
