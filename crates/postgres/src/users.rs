use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use trachios_domain::ports::UserRepository;
use trachios_domain::{DomainError, Email, NewUser, PasswordHash, User, UserCredentials};

use crate::error::query_error;
use crate::pool::{connection, PgPool};
use crate::rows::{DbRole, UserRow};
use crate::schema::users;

/// Accounts in PostgreSQL.
#[derive(Clone)]
pub struct PgUserRepository {
    pool: PgPool,
}

impl PgUserRepository {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl UserRepository for PgUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, DomainError> {
        let mut conn = connection(&self.pool).await?;
        diesel::insert_into(users::table)
            .values((
                users::name.eq(user.name.as_str()),
                users::email.eq(user.email.as_str()),
                users::password_hash.eq(user.password_hash.as_str()),
                users::role.eq(DbRole::from(user.role)),
            ))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await
            .map(UserRow::into_user)
            .map_err(|err| match query_error(err) {
                // users.email is the table's only unique key besides the id.
                DomainError::Conflict(_) => {
                    DomainError::Conflict("email already registered".to_owned())
                }
                other => other,
            })
    }

    async fn find_by_id(&self, id: i64) -> Result<Option<User>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        users::table
            .find(id)
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map(|row| row.map(UserRow::into_user))
            .map_err(query_error)
    }

    async fn find_credentials(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, DomainError> {
        let mut conn = connection(&self.pool).await?;
        users::table
            .filter(users::email.eq(email.as_str()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map(|row| {
                row.map(|row| {
                    let password_hash = PasswordHash::new(row.password_hash.clone());
                    UserCredentials {
                        user: row.into_user(),
                        password_hash,
                    }
                })
            })
            .map_err(query_error)
    }
}
