// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "order_actor"))]
    pub struct OrderActor;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "order_status"))]
    pub struct OrderStatus;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "user_role"))]
    pub struct UserRole;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "webhook_delivery_state"))]
    pub struct WebhookDeliveryState;
}

diesel::table! {
    cache_epoch (singleton) {
        singleton -> Bool,
        epoch -> Text,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Int8,
        key -> Text,
        fingerprint -> Bytea,
        order_id -> Int8,
        response -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::OrderStatus;
    use super::sql_types::OrderActor;

    order_events (id) {
        id -> Int8,
        order_id -> Int8,
        from_status -> Nullable<OrderStatus>,
        to_status -> OrderStatus,
        actor -> OrderActor,
        actor_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        version -> Int8,
        next_step_at -> Nullable<Timestamptz>,
        kind -> Text,
        replaced -> Nullable<Jsonb>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::OrderStatus;

    orders (id) {
        id -> Int8,
        customer_id -> Int8,
        item_description -> Text,
        status -> OrderStatus,
        version -> Int8,
        next_step_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        lines -> Jsonb,
        currency -> Nullable<Text>,
        total -> Nullable<Int8>,
        shipping_address -> Nullable<Jsonb>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        user_id -> Int8,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UserRole;

    users (id) {
        id -> Int8,
        #[max_length = 255]
        name -> Varchar,
        #[max_length = 255]
        email -> Varchar,
        password_hash -> Text,
        role -> UserRole,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        disabled -> Bool,
        tokens_valid_after -> Nullable<Timestamptz>,
        tokens_kept_jti -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Int8,
        webhook_id -> Int8,
        event_uuid -> Uuid,
        event_type -> Text,
        attempt -> Int4,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        attempted_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::WebhookDeliveryState;

    webhook_deliveries (id) {
        id -> Int8,
        webhook_id -> Int8,
        event_id -> Int8,
        order_id -> Int8,
        state -> WebhookDeliveryState,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_events (event_id) {
        event_id -> Int8,
        uuid -> Uuid,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Int8,
        url -> Text,
        secret -> Text,
        order_created -> Bool,
        status_changed -> Bool,
        created_at -> Timestamptz,
        order_updated -> Bool,
    }
}

diesel::joinable!(idempotency_keys -> orders (order_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(order_events -> orders (order_id));
diesel::joinable!(orders -> users (customer_id));
diesel::joinable!(revoked_tokens -> users (user_id));
diesel::joinable!(webhook_attempts -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_events -> order_events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    cache_epoch,
    idempotency_keys,
    order_events,
    orders,
    revoked_tokens,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhook_events,
    webhooks,
);
