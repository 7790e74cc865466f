//! The tables of `migrations/sqlite`. Times are microseconds since the Unix epoch.

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        tokens_valid_after -> Nullable<BigInt>,
        tokens_kept_jti -> Nullable<Text>,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        customer_id -> BigInt,
        item_description -> Text,
        status -> Text,
        version -> BigInt,
        next_step_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        lines -> Text,
        currency -> Nullable<Text>,
        total -> Nullable<BigInt>,
        shipping_address -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    order_events (id) {
        id -> BigInt,
        order_id -> BigInt,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        actor_id -> Nullable<BigInt>,
        created_at -> BigInt,
        version -> BigInt,
        next_step_at -> Nullable<BigInt>,
        kind -> Text,
        replaced -> Nullable<Text>,
    }
}

diesel::table! {
    cache_epoch (singleton) {
        singleton -> BigInt,
        epoch -> Text,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        user_id -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> BigInt,
        key -> Text,
        fingerprint -> Binary,
        order_id -> BigInt,
        response -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    bulk_request_keys (user_id, key) {
        user_id -> BigInt,
        key -> Text,
        fingerprint -> Binary,
        response -> Nullable<Text>,
        claimed_at -> BigInt,
        lease_until -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        secret -> Text,
        order_created -> Bool,
        status_changed -> Bool,
        order_updated -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    webhook_events (event_id) {
        event_id -> BigInt,
        uuid -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        order_id -> BigInt,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_uuid -> Text,
        event_type -> Text,
        attempt -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        attempted_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    orders,
    order_events,
    cache_epoch,
    revoked_tokens,
    idempotency_keys,
    bulk_request_keys,
    webhooks,
    webhook_events,
    webhook_deliveries,
    webhook_attempts,
);
