use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::RunQueryDsl;
use trachios_domain::ports::UserRepository;
use trachios_domain::{
    DomainError, Email, NewUser, PasswordHash, TokenId, User, UserChange, UserCredentials,
    UserFilter, UserId,
};

use crate::error::{query_failure, written, QueryFailure};
use crate::explain::explain;
use crate::pool::{connection, sql_limit, PgPool};
use crate::rows::{DbRole, UserChangeRow, UserRow};
use crate::schema::users;

/// The unique index behind "email already registered" (PostgreSQL's name for `UNIQUE`).
const EMAIL_UNIQUE: &str = "users_email_key";

/// Accounts in PostgreSQL.
#[derive(Clone)]
pub struct PgUserRepository {
    pool: PgPool,
}

impl PgUserRepository {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// PostgreSQL's plan for the query `list` runs with these arguments.
    pub async fn explain_list(
        &self,
        filter: &UserFilter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<String, DomainError> {
        explain(&self.pool, list_query(filter, before, limit)).await
    }
}

/// One keyset page: the filter's conditions, ids below `before`, newest first.
fn list_query(
    filter: &UserFilter,
    before: Option<i64>,
    limit: usize,
) -> users::BoxedQuery<'static, Pg, SqlTypeOf<AsSelect<UserRow, Pg>>> {
    let mut query = users::table
        .select(UserRow::as_select())
        .order(users::id.desc())
        .limit(sql_limit(limit))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(users::id.lt(before));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(DbRole(role)));
    }
    if let Some(email) = &filter.email {
        query = query.filter(users::email.eq(email.as_str().to_owned()));
    }
    query
}

#[async_trait]
impl UserRepository for PgUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let inserted = diesel::insert_into(users::table)
            .values((
                users::name.eq(user.name.as_str()),
                users::email.eq(user.email.as_str()),
                users::password_hash.eq(user.password_hash.as_str()),
                users::role.eq(DbRole(user.role)),
            ))
            .returning(UserRow::as_returning())
            .load(&mut conn)
            .await
            .map(written);
        match inserted {
            Ok(Some(row)) => row.into_user(),
            Ok(None) => Err(DomainError::internal("inserting a user returned no row")),
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some(EMAIL_UNIQUE) =>
            {
                Err(DomainError::EmailTaken)
            }
            Err(other) => Err(query_failure(&mut conn, other).await),
        }
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        users::table
            .find(id.get())
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .or_failure_on(&mut conn)
            .await?
            .map(UserRow::into_user)
            .transpose()
    }

    async fn find_credentials(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        let Some(mut row) = users::table
            .filter(users::email.eq(email.as_str()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .or_failure_on(&mut conn)
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
        let mut conn = connection(&self.pool).await?;
        let changed: Vec<i64> = diesel::update(users::table.find(id.get()))
            .set((
                users::password_hash.eq(hash.as_str()),
                users::tokens_valid_after.eq(at),
                users::tokens_kept_jti.eq(kept.as_str()),
                users::updated_at.eq(at),
            ))
            .returning(users::id)
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        Ok(!changed.is_empty())
    }

    async fn update(
        &self,
        id: UserId,
        change: UserChange,
        at: DateTime<Utc>,
    ) -> Result<Option<User>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        // Only the fields the change names are set, in one statement: no read-modify-write
        // race with another admin changing the other field.
        diesel::update(users::table.find(id.get()))
            .set(UserChangeRow {
                role: change.role.map(DbRole),
                disabled: change.disabled,
                updated_at: at,
                tokens_valid_after: change.ends_sessions().then_some(at),
                tokens_kept_jti: change.ends_sessions().then_some(None),
            })
            .returning(UserRow::as_returning())
            .load(&mut conn)
            .await
            .map(written)
            .or_failure_on(&mut conn)
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
        let mut conn = connection(&self.pool).await?;
        let rows: Vec<UserRow> = list_query(filter, before, limit)
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    async fn emails(&self, ids: &[UserId]) -> Result<Vec<(UserId, Email)>, DomainError> {
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        let mut conn = connection(&self.pool).await?;
        let rows: Vec<(i64, String)> = users::table
            .filter(users::id.eq_any(ids))
            .select((users::id, users::email))
            .load(&mut conn)
            .await
            .or_failure_on(&mut conn)
            .await?;
        rows.into_iter().map(stored_email).collect()
    }
}

/// An account's id and e-mail as stored, checked again as they are read back.
fn stored_email((id, email): (i64, String)) -> Result<(UserId, Email), DomainError> {
    Ok((UserId::parse(id)?, Email::parse(&email)?))
}
