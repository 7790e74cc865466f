//! Schemas that only describe: the wire names of domain enums (generated from the domain),
//! and bodies built ad hoc.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The body of every response that is not 2xx.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, for a human; never internals.
    #[schema(example = "item_description must not be empty")]
    pub error: String,
}

/// A string schema whose values are a domain enum's names, taken from its declaration.
fn names(description: &str, values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// Describes a domain enum on the wire under the name `$schema`, its values taken from
/// `$domain::ALL`.
macro_rules! domain_enum_schema {
    ($wire:ident, $schema:literal, $domain:ty, $description:literal) => {
        #[doc = concat!("The wire form of `trachios_domain::", stringify!($domain), "`.")]
        pub(crate) struct $wire;

        impl PartialSchema for $wire {
            fn schema() -> RefOr<Schema> {
                names(
                    $description,
                    trachios_domain::names::of(<$domain>::ALL, <$domain>::as_str),
                )
            }
        }

        impl ToSchema for $wire {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($schema)
            }
        }
    };
}

domain_enum_schema!(
    OrderStatusName,
    "OrderStatus",
    trachios_domain::OrderStatus,
    "Where an order is in its life."
);
/// A one-value schema of a `trachios_domain::BulkAction` name: each shape of a bulk
/// request names its action.
macro_rules! bulk_action_schema {
    ($wire:ident, $schema:literal, $index:literal, $description:literal) => {
        pub(crate) struct $wire;

        impl PartialSchema for $wire {
            fn schema() -> RefOr<Schema> {
                names($description, [trachios_domain::BulkAction::NAMES[$index]])
            }
        }

        impl ToSchema for $wire {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($schema)
            }
        }
    };
}
bulk_action_schema!(BulkCancelName, "BulkCancel", 0, "Cancel each order.");
bulk_action_schema!(
    BulkSetStatusName,
    "BulkSetStatus",
    1,
    "Set each order's status."
);

domain_enum_schema!(
    WebhookEventName,
    "WebhookEventType",
    trachios_domain::WebhookEventType,
    "What a webhook endpoint can subscribe to."
);
domain_enum_schema!(
    RoleName,
    "Role",
    trachios_domain::Role,
    "What a user may do."
);
domain_enum_schema!(
    ActorKind,
    "Actor",
    trachios_domain::ActorKind,
    "Who made a change."
);

domain_enum_schema!(
    EventKindName,
    "EventKind",
    trachios_domain::EventKind,
    "What an event of an order's history records."
);

domain_enum_schema!(
    MovementReasonName,
    "StockMovementReason",
    trachios_domain::MovementReason,
    "Why a product's stock moved."
);

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
