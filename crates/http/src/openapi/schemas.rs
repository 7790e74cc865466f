//! Schemas that only describe: the wire names of domain enums, and bodies built ad hoc.

use serde::Serialize;
use utoipa::ToSchema;

/// The body of every response that is not 2xx.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, for a human; never internals.
    #[schema(example = "item_description must not be empty")]
    pub error: String,
}

#[derive(ToSchema)]
#[schema(as = OrderStatus, rename_all = "snake_case")]
#[allow(dead_code)] // describes the wire form of `trachios_domain::OrderStatus`
pub(crate) enum OrderStatusName {
    Created,
    Dispatched,
    InTransit,
    Delivered,
    Cancelled,
}

/// What a webhook endpoint can subscribe to.
#[derive(ToSchema)]
#[schema(as = WebhookEventType)]
#[allow(dead_code)] // describes the wire form of `trachios_domain::WebhookEventType`
pub(crate) enum WebhookEventName {
    #[schema(rename = "order.created")]
    OrderCreated,
    #[schema(rename = "order.status_changed")]
    StatusChanged,
}

#[derive(ToSchema)]
#[schema(as = Role, rename_all = "snake_case")]
#[allow(dead_code)] // describes the wire form of `trachios_domain::Role`
pub(crate) enum RoleName {
    Customer,
    Admin,
}

/// Who made a change.
#[derive(ToSchema)]
#[schema(as = Actor, rename_all = "snake_case")]
#[allow(dead_code)] // describes `OrderEventResponse::actor`
pub(crate) enum ActorKind {
    Customer,
    Admin,
    System,
}

/// `GET /health`.
#[derive(Serialize, ToSchema)]
pub(crate) struct HealthBody {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// `GET /ready`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReadyBody {
    #[schema(value_type = ReadyState)]
    pub status: &'static str,
    #[schema(value_type = DependencyState)]
    pub database: &'static str,
    #[schema(value_type = CacheState)]
    pub cache: &'static str,
    /// Why the process is not ready; only on a 503, as on every other error answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub error: Option<&'static str>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // describes `ReadyBody::status`
pub(crate) enum ReadyState {
    Ready,
    Draining,
    Unavailable,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // describes `ReadyBody::database`
pub(crate) enum DependencyState {
    Up,
    Down,
}

/// `memory`: an in-process cache; `disabled`: `CACHE_ENABLED=false`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // describes `ReadyBody::cache`
pub(crate) enum CacheState {
    Up,
    Down,
    Memory,
    Disabled,
}
