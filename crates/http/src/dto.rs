//! The JSON shapes of the API, kept apart from the domain types so that neither can
//! change the other by accident.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trachios_domain::services::LoginOutcome;
use trachios_domain::{Order, OrderEvent, OrderStatus, Role, User};

#[derive(Debug, Deserialize)]
pub struct RegisterRequest {
    pub name: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
pub struct CreateOrderRequest {
    pub item_description: String,
}

#[derive(Debug, Deserialize)]
pub struct SetStatusRequest {
    pub status: String,
}

/// `PATCH /users/{id}`: each field is optional; what is left out stays as it is.
#[derive(Debug, Deserialize)]
pub struct UpdateUserRequest {
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct UserResponse {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id.get(),
            name: u.name.to_string(),
            email: u.email.to_string(),
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LoginResponse {
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
    pub user: UserResponse,
}

impl From<LoginOutcome> for LoginResponse {
    fn from(outcome: LoginOutcome) -> Self {
        Self {
            token: outcome.token.token,
            token_type: "Bearer",
            expires_at: outcome.token.expires_at,
            user: outcome.user.into(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OrderResponse {
    pub id: i64,
    pub customer_id: i64,
    pub item_description: String,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Order> for OrderResponse {
    fn from(o: Order) -> Self {
        Self {
            id: o.id.get(),
            customer_id: o.customer_id.get(),
            item_description: o.item_description.to_string(),
            status: o.status,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// One entry of `GET /orders/{id}/history`.
#[derive(Debug, Serialize)]
pub struct OrderEventResponse {
    pub id: i64,
    pub order_id: i64,
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    pub actor: &'static str,
    pub actor_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<OrderEvent> for OrderEventResponse {
    fn from(e: OrderEvent) -> Self {
        Self {
            id: e.id,
            order_id: e.order_id.get(),
            from_status: e.from,
            to_status: e.to,
            actor: e.actor.as_str(),
            actor_id: e.actor_id.map(|id| id.get()),
            created_at: e.at,
        }
    }
}
