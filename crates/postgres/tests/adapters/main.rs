//! The PostgreSQL adapters against a real server, one fresh database per test: the port
//! contract every store keeps, and what only PostgreSQL has (plans, the change follower,
//! commit-time failures).

mod accounts;
mod background_plans;
mod batches;
mod commits;
mod deadlocks;
mod fixture;
mod follower;
mod lists;
mod schema;
mod tls;
mod unreachable;

use std::sync::Arc;

use trachios_contract::Ports;
use trachios_postgres::{
    PgAccountStates, PgOrderRepository, PgProductRepository, PgUserRepository, PgWebhookRepository,
};

async fn fresh_ports() -> Ports {
    let pool = fixture::fresh_pool().await;
    Ports {
        users: Arc::new(PgUserRepository::new(pool.clone())),
        orders: Arc::new(PgOrderRepository::new(pool.clone())),
        accounts: Arc::new(PgAccountStates::new(pool.clone())),
        webhooks: Arc::new(PgWebhookRepository::new(pool.clone())),
        products: Arc::new(PgProductRepository::new(pool.clone())),
        keep: Box::new(pool),
    }
}

trachios_contract::port_contract!(fresh_ports);
