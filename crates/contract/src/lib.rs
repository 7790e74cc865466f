//! The contract every store keeps: what the domain's ports promise, written once as
//! functions of the ports, and instantiated by each adapter's tests with
//! [`port_contract!`] on a fresh store per test. A rule that one store breaks fails
//! that store's test of the same name.

use std::any::Any;
use std::sync::Arc;

use chrono::{Duration, Utc};
use trachios_domain::ports::{
    AccountStates, OrderRepository, ProductRepository, UserRepository, WebhookRepository,
};
use trachios_domain::{
    Email, ItemDescription, Name, NewOrder, NewUser, Order, OrderRequest, PasswordHash, Role,
    UserId,
};

pub mod accounts;
pub mod bulk_keys;
pub mod catalog;
pub mod edits;
pub mod idempotency;
pub mod lifecycle;
pub mod lists;
pub mod order_search;
pub mod orders;
pub mod schema;
pub mod stock;
pub mod storable;
pub mod users;
pub mod webhooks;

/// A fresh, empty store's ports.
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub orders: Arc<dyn OrderRepository>,
    pub accounts: Arc<dyn AccountStates>,
    pub webhooks: Arc<dyn WebhookRepository>,
    pub products: Arc<dyn ProductRepository>,
    /// Whatever must live as long as the test (a temporary file, a pool).
    pub keep: Box<dyn Any + Send + Sync>,
}

/// Stores a customer and returns its id.
pub async fn customer(users: &dyn UserRepository, email: &str) -> UserId {
    users
        .insert(NewUser {
            name: Name::parse("Jo").expect("a valid name"),
            email: Email::parse(email).expect("a valid email"),
            password_hash: PasswordHash::new("phc".into()),
            role: Role::Customer,
        })
        .await
        .expect("customer stored")
        .id
}

/// An order placed now by the domain, due to move `due_in` from now.
pub fn new_order(customer_id: UserId, due_in: Duration) -> NewOrder {
    Order::place(
        customer_id,
        OrderRequest::free_text(ItemDescription::parse("Laptop").expect("a valid description")),
        Utc::now(),
        due_in,
    )
}

/// Instantiates the whole contract as tests of the calling crate; `$fresh` is an
/// `async fn() -> Ports` giving each test a store of its own.
#[macro_export]
macro_rules! port_contract {
    ($fresh:path) => {
        $crate::port_contract!(@each $fresh;
            users::accounts_round_trip_and_duplicate_emails_conflict,
            users::an_update_changes_only_the_named_fields,
            users::emails_are_read_for_the_accounts_asked_for_that_exist,
            orders::an_order_is_stored_exactly_as_the_domain_placed_it,
            orders::a_transition_applies_once_and_a_stale_version_loses,
            orders::history_is_oldest_first_and_empty_for_an_unknown_order,
            orders::open_orders_are_counted_per_customer_up_to_the_bound,
            lifecycle::advance_due_moves_only_due_orders_one_step_and_records_system_events,
            lifecycle::concurrent_workers_never_move_the_same_order_twice,
            lifecycle::the_lifecycle_follows_the_step_table_it_is_given,
            idempotency::a_taken_key_stores_nothing_and_returns_the_first_answer,
            idempotency::twenty_concurrent_inserts_under_one_key_store_one_order,
            idempotency::an_expired_key_is_free_again_and_purged_keys_are_gone,
            idempotency::a_live_claim_is_found_by_its_key_and_an_expired_or_unknown_one_is_not,
            bulk_keys::a_claimed_key_is_seen_running_then_answered_and_is_per_user,
            bulk_keys::twenty_concurrent_claims_of_one_key_leave_one_claimed,
            bulk_keys::a_lapsed_lease_is_taken_over_by_the_same_request_only,
            bulk_keys::a_released_or_expired_key_is_free_and_expired_keys_are_purged,
            lists::orders_are_filtered_and_paged_newest_first,
            lists::users_are_filtered_by_role_and_exact_email_and_paged,
            order_search::searches_find_what_the_domains_rule_says_with_filters_and_pages,
            order_search::a_search_finds_an_order_by_its_new_contents_after_an_edit,
            accounts::status_follows_role_changes_disabling_and_revocation,
            accounts::ending_sessions_refuses_tokens_issued_before_and_disabling_is_for_good,
            accounts::a_password_change_replaces_the_hash_and_keeps_only_the_changing_token,
            webhooks::every_change_is_delivered_in_order_once_per_endpoint,
            webhooks::an_event_carries_the_order_as_its_change_left_it,
            webhooks::a_subscription_records_only_its_event_types,
            webhooks::an_event_claimed_after_later_edits_carries_the_contents_it_left,
            webhooks::a_failed_attempt_is_retried_later_and_blocks_the_orders_next_event,
            webhooks::a_lease_that_ran_out_is_claimed_again_and_the_late_outcome_is_ignored,
            webhooks::concurrent_workers_never_claim_the_same_attempt,
            webhooks::deleting_an_endpoint_drops_its_deliveries_and_the_bound_holds,
            webhooks::finished_deliveries_and_old_attempts_are_purged,
            webhooks::a_stored_key_is_replaced_only_while_it_is_still_the_one_stored,
            catalog::products_round_trip_and_skus_are_unique_without_regard_to_case,
            catalog::searches_match_what_the_domains_rule_says_and_pages_hold_every_product_once,
            catalog::a_product_update_changes_only_the_named_fields,
            catalog::a_stock_adjustment_never_takes_stock_below_zero_and_is_in_the_ledger,
            catalog::concurrent_takes_sell_exactly_the_stock_and_the_ledger_balances,
            stock::an_order_with_lines_is_priced_from_the_catalog_and_takes_its_stock,
            stock::an_order_short_of_stock_stores_nothing,
            stock::a_cancellation_returns_the_units_once_and_a_reinstatement_takes_them_again,
            stock::concurrent_orders_sell_exactly_the_stock_and_no_shortage_fails_another,
            stock::concurrent_repeats_of_a_keyed_order_for_the_last_unit_all_see_the_one_order,
            edits::an_edit_replaces_the_lines_and_moves_stock_by_the_difference_once,
            edits::a_refused_or_stale_edit_changes_nothing,
            edits::edits_and_cancellations_racing_keep_every_unit,
        );
        #[test]
        fn every_accepted_name_and_item_description_is_stored_unchanged() {
            $crate::storable::every_accepted_name_and_item_description_is_stored_unchanged($fresh);
        }
    };
    (@each $fresh:path; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                $crate::$module::$test($fresh().await).await;
            }
        )*
    };
}
