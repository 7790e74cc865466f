//! A fresh database per test, its repositories and a customer.

use chrono::{Duration, Utc};
use trachios_domain::ports::UserRepository;
use trachios_domain::{
    Email, ItemDescription, Name, NewOrder, NewUser, Order, OrderRequest, PasswordHash, Role,
    UserId,
};
use trachios_postgres::*;
use trachios_test_support::{fresh_database, init_test_logging};

pub async fn fresh_pool() -> PgPool {
    fresh_pool_and_url().await.0
}

pub async fn fresh_pool_and_url() -> (PgPool, String) {
    init_test_logging();
    let url = fresh_database().await;
    let pool = build_pool(&url, &PoolSettings::default()).expect("pool");
    (pool, url)
}

pub async fn customer(users: &PgUserRepository, email: &str) -> UserId {
    users
        .insert(NewUser {
            name: Name::parse("Jo").unwrap(),
            email: Email::parse(email).unwrap(),
            password_hash: PasswordHash::new("phc".into()),
            role: Role::Customer,
        })
        .await
        .unwrap()
        .id
}

/// A fresh database's pool, its repositories and one customer, `a@x.io`.
pub struct Fixture {
    pub pool: PgPool,
    pub users: PgUserRepository,
    pub orders: PgOrderRepository,
    pub a: UserId,
    /// For statements the repositories do not offer (bulk loads, ANALYZE).
    pub url: String,
}

pub async fn fixture() -> Fixture {
    let (pool, url) = fresh_pool_and_url().await;
    let users = PgUserRepository::new(pool.clone());
    let orders = PgOrderRepository::new(pool.clone());
    let a = customer(&users, "a@x.io").await;
    Fixture {
        pool,
        users,
        orders,
        a,
        url,
    }
}

pub fn new_order(customer_id: UserId, due_in: Duration) -> NewOrder {
    Order::place(
        customer_id,
        OrderRequest::free_text(ItemDescription::parse("Laptop").unwrap()),
        Utc::now(),
        due_in,
    )
}

/// Makes every later commit that wrote to `table` fail, after the statement itself has
/// succeeded: the commit is the last thing that can go wrong.
pub async fn refuse_commits_on(url: &str, table: &str) {
    trachios_test_support::psql(
        url,
        &format!(
            "CREATE OR REPLACE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$; \
             CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT OR UPDATE OR DELETE \
             ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
             EXECUTE FUNCTION refuse_at_commit()"
        ),
    )
    .await;
}
