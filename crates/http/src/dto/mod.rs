//! The JSON shapes of the API, kept apart from the domain types so that neither can
//! change the other by accident.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trachios_domain::services::{CreatedWebhook, LoginOutcome};
use trachios_domain::{
    DeliveryLogEntry, Order, OrderEvent, OrderStatus, Role, SecretText, User, Webhook,
};
use utoipa::ToSchema;

use crate::openapi::schemas::{
    ActorKind, EventKindName, OrderStatusName, RoleName, WebhookEventName,
};

mod bulk;
mod catalog;
mod order_contents;

pub use bulk::{render_results, BulkOrdersBody, BulkOrdersRequest, BulkResultsResponse};
pub use catalog::{
    CreateProductRequest, ProductResponse, StockAdjustmentRequest, StockMovementResponse,
    UpdateProductRequest,
};
pub use order_contents::{
    CreateOrderRequest, EditOrderRequest, OrderLineResponse, ShippingAddressBody,
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 1–255 characters after trimming; no control characters but tab and line breaks.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
        example = "John Doe"
    )]
    pub name: String,
    /// Compared case-insensitively.
    #[schema(format = Email, max_length = 255, example = "john@example.com")]
    pub email: String,
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = r"^[^\x00]*$",
        example = "correct horse battery"
    )]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Any text without NUL; an unknown address is the same 401 as a wrong password.
    #[schema(pattern = r"^[^\x00]*$", example = "john@example.com")]
    pub email: String,
    #[schema(pattern = r"^[^\x00]*$", example = "correct horse battery")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The password the account has now; a wrong one is a 401 and counts as a failed login.
    #[schema(pattern = r"^[^\x00]*$", example = "correct horse battery")]
    pub current_password: String,
    /// At least `PASSWORD_MIN_LENGTH` characters (8 unless configured), at most 128.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = r"^[^\x00]*$",
        example = "staple battery horse correct"
    )]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetStatusRequest {
    #[schema(value_type = OrderStatusName)]
    pub status: String,
}

/// `PATCH /users/{id}`: each field is optional; what is left out stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    #[schema(value_type = Option<RoleName>)]
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserResponse {
    pub id: i64,
    pub name: String,
    pub email: String,
    #[schema(value_type = RoleName)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    #[schema(value_type = String)]
    pub token: SecretText,
    #[schema(value_type = String, example = "Bearer")]
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

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Order)]
pub struct OrderResponse {
    pub id: i64,
    pub customer_id: i64,
    pub item_description: String,
    #[schema(value_type = OrderStatusName)]
    pub status: OrderStatus,
    #[serde(serialize_with = "trachios_domain::rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "trachios_domain::rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
    /// ISO 4217; null for a free-text order.
    #[schema(example = "EUR")]
    pub currency: Option<&'static str>,
    /// The sum of the line totals in the currency's minor unit; null for a free-text order.
    #[schema(example = 7499)]
    pub total: Option<i64>,
    pub shipping_address: Option<ShippingAddressBody>,
    pub note: Option<String>,
    /// What was sold, as it was sold; empty for a free-text order.
    pub lines: Vec<OrderLineResponse>,
}

impl From<Order> for OrderResponse {
    fn from(o: Order) -> Self {
        let details = order_contents::DetailFields::from(&o.details);
        Self {
            id: o.id.get(),
            customer_id: o.customer_id.get(),
            item_description: o.item_description.to_string(),
            status: o.status,
            created_at: o.created_at,
            updated_at: o.updated_at,
            currency: details.currency,
            total: details.total,
            shipping_address: details.shipping_address,
            note: details.note,
            lines: details.lines,
        }
    }
}

/// One entry of `GET /orders/{id}/history`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrderEvent)]
pub struct OrderEventResponse {
    pub id: i64,
    pub order_id: i64,
    /// Equal `from_status` and `to_status` for an edit or a shipment.
    #[schema(value_type = EventKindName)]
    pub kind: &'static str,
    #[schema(value_type = Option<OrderStatusName>)]
    pub from_status: Option<OrderStatus>,
    #[schema(value_type = OrderStatusName)]
    pub to_status: OrderStatus,
    #[schema(value_type = ActorKind)]
    pub actor: &'static str,
    pub actor_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<OrderEvent> for OrderEventResponse {
    fn from(e: OrderEvent) -> Self {
        Self {
            id: e.id,
            order_id: e.order_id.get(),
            kind: e.kind.as_str(),
            from_status: e.from,
            to_status: e.to,
            actor: e.actor.as_str(),
            actor_id: e.actor_id.map(|id| id.get()),
            created_at: e.at,
        }
    }
}

/// `POST /webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhookRequest {
    /// Where events are POSTed: `http` or `https`, printable ASCII, no credentials, on a
    /// public address unless the server allows private ones.
    #[schema(
        max_length = 2048,
        pattern = r#"^[Hh][Tt][Tt][Pp][Ss]?://[!-"$-.0->A-~]+([/?#][!-~]*)?$"#,
        example = "https://hooks.example.com/trachios"
    )]
    pub url: String,
    /// The event types to receive; both when left out.
    #[schema(value_type = Option<Vec<WebhookEventName>>, min_items = 1)]
    pub events: Option<Vec<String>>,
}

/// A webhook endpoint as `GET /webhooks` lists it (without its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookResponse {
    pub id: i64,
    pub url: String,
    #[schema(value_type = Vec<WebhookEventName>)]
    pub events: Vec<&'static str>,
    pub created_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookResponse {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.get(),
            url: w.url.as_str().to_owned(),
            events: w
                .subscription
                .types()
                .into_iter()
                .map(|t| t.as_str())
                .collect(),
            created_at: w.created_at,
        }
    }
}

/// A new webhook endpoint, with the secret its deliveries are signed with; shown only here.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CreatedWebhook)]
pub struct CreatedWebhookResponse {
    pub id: i64,
    pub url: String,
    #[schema(value_type = Vec<WebhookEventName>)]
    pub events: Vec<&'static str>,
    /// The HMAC-SHA256 key of `Trachios-Signature`.
    #[schema(value_type = String)]
    pub secret: SecretText,
    pub created_at: DateTime<Utc>,
}

impl From<CreatedWebhook> for CreatedWebhookResponse {
    fn from(created: CreatedWebhook) -> Self {
        let listed = WebhookResponse::from(created.webhook);
        Self {
            id: listed.id,
            url: listed.url,
            events: listed.events,
            secret: created.secret,
            created_at: listed.created_at,
        }
    }
}

/// One attempt to deliver an event, as `GET /webhooks/{id}/deliveries` lists it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryResponse {
    /// The event's id, the same in every attempt (`Trachios-Event-Id`).
    pub event_id: String,
    #[schema(value_type = WebhookEventName)]
    pub event_type: &'static str,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The endpoint's answer; null when there was none (see `error`).
    pub status_code: Option<u16>,
    /// Why there was no answer: a refused or failed connection, a timeout.
    pub error: Option<String>,
    /// When the attempt ended.
    pub delivered_at: DateTime<Utc>,
}

impl From<DeliveryLogEntry> for DeliveryResponse {
    fn from(e: DeliveryLogEntry) -> Self {
        Self {
            event_id: e.event_id,
            event_type: e.event_type.as_str(),
            attempt: e.attempt,
            status_code: e.status_code,
            error: e.error,
            delivered_at: e.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_hand_over_a_secret_do_not_show_it_when_formatted() {
        const SECRET: &str = "s3cr3t-value-that-must-not-show";
        let now = chrono::Utc::now();
        let login = LoginResponse {
            token: SECRET.into(),
            token_type: "Bearer",
            expires_at: now,
            user: UserResponse {
                id: 1,
                name: "Jo".into(),
                email: "jo@x.io".into(),
                role: Role::Customer,
                disabled: false,
                created_at: now,
                updated_at: now,
            },
        };
        let hook = CreatedWebhookResponse {
            id: 1,
            url: "https://example.com/hook".into(),
            events: vec![],
            secret: SECRET.into(),
            created_at: now,
        };
        for formatted in [format!("{login:?}"), format!("{hook:?}")] {
            assert!(!formatted.contains(SECRET), "{formatted}");
        }
        // Handing it over is what these answers are for.
        let json = serde_json::to_string(&login).expect("serialises");
        assert!(json.contains(SECRET));
    }
}
