//! Webhook signing keys are sealed in the store: a copy of the database does not hand them
//! over, and a rotation of `SECRETS_KEY` (or a row from before keys were sealed) keeps every
//! delivery signed with the key its endpoint was given.

use std::time::Duration;

use reqwest::Method;

use crate::helpers::*;
use crate::receiver::Receiver;
use crate::server_process::ServerProcess;
use crate::webhooks::{signed_by, subscribe, PROCESS_ENV};

const FIRST_KEY: &str = "the-first-secrets-key-of-32-bytes-or-more";
const SECOND_KEY: &str = "the-second-secrets-key-of-32-bytes-or-more";

async fn stored_key(app: &TestApp, hook: i64) -> String {
    app.sql_value_behind_the_service(&format!(
        "SELECT secret AS value FROM webhooks WHERE id = {hook}"
    ))
    .await
}

#[tokio::test]
async fn keys_are_sealed_at_rest_and_a_rotation_keeps_deliveries_signed() {
    let (database_url, _scratch) = fresh_store().await;
    let first_env = [PROCESS_ENV, &[("SECRETS_KEY", FIRST_KEY)]].concat();
    let mut first = ServerProcess::start_with(&database_url, "3600", &first_env).await;
    let app = TestApp::new(first.base.clone(), &database_url);
    let admin = app.admin().await;
    let rotated = Receiver::start(vec![], Duration::ZERO);
    let legacy = Receiver::start(vec![], Duration::ZERO);
    let (rotated_hook, rotated_secret) =
        subscribe(&app, &admin, &rotated.url, Some(&["order.created"])).await;
    let (legacy_hook, _) = subscribe(&app, &admin, &legacy.url, Some(&["order.created"])).await;

    let sealed_first = stored_key(&app, rotated_hook).await;
    assert!(sealed_first.starts_with("sealed:v1:"), "{sealed_first}");
    assert!(
        !sealed_first.contains(&rotated_secret),
        "the store holds the key itself"
    );
    // A row as a version that stored keys in clear left it.
    app.sql_behind_the_service(&format!(
        "UPDATE webhooks SET secret = 'whsec_stored_in_clear' WHERE id = {legacy_hook}"
    ))
    .await;
    first.kill().await;

    let second_env = [
        PROCESS_ENV,
        &[
            ("SECRETS_KEY", SECOND_KEY),
            ("SECRETS_KEY_PREVIOUS", FIRST_KEY),
        ],
    ]
    .concat();
    let second = ServerProcess::start_with(&database_url, "3600", &second_env).await;
    let app = TestApp::new(second.base.clone(), &database_url);
    // Both are sealed again under the second key at start, by the housekeeping.
    let second_key_id = |sealed: &str| sealed.split(':').nth(2).map(str::to_owned);
    assert!(
        eventually(Duration::from_secs(10), || async {
            let rotated_now = stored_key(&app, rotated_hook).await;
            let legacy_now = stored_key(&app, legacy_hook).await;
            rotated_now != sealed_first
                && legacy_now.starts_with("sealed:v1:")
                && second_key_id(&rotated_now) == second_key_id(&legacy_now)
        })
        .await,
        "the keys are sealed under the second key"
    );
    assert_ne!(
        second_key_id(&stored_key(&app, rotated_hook).await),
        second_key_id(&sealed_first)
    );

    let (customer, _) = app.customer("sealed@x.io").await;
    app.create_order(&customer, "Desk").await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            rotated.count() >= 1 && legacy.count() >= 1
        })
        .await,
        "both endpoints get the order's event"
    );
    let rotated_got = &rotated.received()[0];
    assert!(signed_by(
        &rotated_secret,
        &rotated_got.signature,
        &rotated_got.body
    ));
    let legacy_got = &legacy.received()[0];
    assert!(signed_by(
        "whsec_stored_in_clear",
        &legacy_got.signature,
        &legacy_got.body
    ));
    // The admin API never shows a key again.
    let admin = app.admin().await;
    let (_, listed) = app.call(Method::GET, "/webhooks", Some(&admin), None).await;
    assert!(!listed.to_string().contains("whsec_"), "{listed}");
}
