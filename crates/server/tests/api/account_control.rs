//! Account control: logout, role changes and disabled accounts take effect on every
//! process within 5 s (on the embedded store, in its one process); a deleted account's
//! token is a 401, not a 500.

use std::time::{Duration, Instant};

use reqwest::{header, Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

/// The contract's bound for a change to reach every process.
const WITHIN: Duration = Duration::from_secs(5);

impl TestApp {
    async fn status_of(&self, method: Method, path: &str, token: &str) -> StatusCode {
        self.request(method, path, Some(token), None).await.status()
    }

    async fn patch_user(
        &self,
        admin: &str,
        id: i64,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        self.call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(admin),
            Some(body),
        )
        .await
    }

    async fn token_for(&self, email: &str) -> String {
        let (status, body) = self.login(email, "password-123").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

/// Waits until `path` answers `expected` with `token`, and returns how long that took.
async fn takes_effect(app: &TestApp, path: &str, token: &str, expected: StatusCode) -> Duration {
    let started = Instant::now();
    let seen = eventually(WITHIN, || async {
        app.status_of(Method::GET, path, token).await == expected
    })
    .await;
    assert!(seen, "{path} did not answer {expected} within {WITHIN:?}");
    started.elapsed()
}

#[tokio::test]
async fn logout_revokes_only_the_presented_token_on_every_process() {
    let processes = Processes::spawn().await;
    let (first, second) = (processes.first(), processes.second());
    let (kept, _) = first.customer("jo@x.io").await;
    let ended = first.token_for("jo@x.io").await;
    // The other process has seen (and remembered) the token as good.
    assert_eq!(
        second.status_of(Method::GET, "/user", &ended).await,
        StatusCode::OK
    );

    let res = first
        .request(Method::POST, "/logout", Some(&ended), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        first.status_of(Method::GET, "/user", &ended).await,
        StatusCode::UNAUTHORIZED
    );
    takes_effect(second, "/user", &ended, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        first.status_of(Method::POST, "/logout", &ended).await,
        StatusCode::UNAUTHORIZED
    );
    for app in [first, second] {
        assert_eq!(
            app.status_of(Method::GET, "/user", &kept).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        first
            .status_of(Method::POST, "/logout", "not-a-token")
            .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_role_change_reaches_every_process_within_five_seconds() {
    let processes = Processes::spawn().await;
    let (first, second) = (processes.first(), processes.second());
    let admin = first.admin().await;
    let (token, id) = first.customer("jo@x.io").await;
    assert_eq!(
        second.status_of(Method::GET, "/orders", &token).await,
        StatusCode::FORBIDDEN
    );

    let (status, user) = first.patch_user(&admin, id, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        (user["role"].as_str(), user["disabled"].as_bool()),
        (Some("admin"), Some(false))
    );
    // The token was issued to a customer; the account's role now decides.
    takes_effect(second, "/orders", &token, StatusCode::OK).await;

    let (status, _) = first
        .patch_user(&admin, id, json!({"role": "customer"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let took = takes_effect(second, "/orders", &token, StatusCode::FORBIDDEN).await;
    eprintln!("demotion reached the other process after {took:?}");
    assert_eq!(
        first.status_of(Method::GET, "/users", &token).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_disabled_account_loses_its_tokens_for_good_and_cannot_log_in_until_enabled() {
    let processes = Processes::spawn().await;
    let (first, second) = (processes.first(), processes.second());
    let admin = first.admin().await;
    let (token, id) = first.customer("jo@x.io").await;
    first.create_order(&token, "Desk").await;

    let (status, user) = first
        .patch_user(&admin, id, json!({"disabled": true}))
        .await;
    assert_eq!(
        (status, user["disabled"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert_eq!(user["role"], "customer", "what the change leaves out stays");
    for app in [first, second] {
        takes_effect(app, "/my-orders", &token, StatusCode::UNAUTHORIZED).await;
    }
    let (status, refused) = second.login("jo@x.io", "password-123").await;
    let (_, wrong) = second.login("jo@x.io", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused, wrong,
        "a disabled account looks like a wrong password"
    );
    let (_, listed) = first
        .call(Method::GET, "/users?email=jo@x.io", Some(&admin), None)
        .await;
    assert_eq!(listed[0]["disabled"], true);

    let (status, _) = first
        .patch_user(&admin, id, json!({"disabled": false}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = second.token_for("jo@x.io").await;
    assert_eq!(
        second.status_of(Method::GET, "/user", &fresh).await,
        StatusCode::OK
    );
    // Enabling the account again does not revive the tokens it had: watched for as long as
    // the enabling takes to reach every process.
    let revived = eventually(WITHIN, || async {
        first.status_of(Method::GET, "/my-orders", &token).await != StatusCode::UNAUTHORIZED
            || second.status_of(Method::GET, "/my-orders", &token).await != StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(!revived, "a token of the disabled account works again");
}

impl TestApp {
    async fn change_password(
        &self,
        token: &str,
        current: &str,
        new: &str,
    ) -> (StatusCode, serde_json::Value) {
        self.call(
            Method::POST,
            "/user/password",
            Some(token),
            Some(json!({"current_password": current, "new_password": new})),
        )
        .await
    }
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_on_every_process() {
    let processes = Processes::spawn().await;
    let (first, second) = (processes.first(), processes.second());
    let (changer, _) = first.customer("jo@x.io").await;
    let other = second.token_for("jo@x.io").await;
    assert_eq!(
        second.status_of(Method::GET, "/user", &other).await,
        StatusCode::OK
    );

    let (status, body) = first
        .change_password(&changer, "wrong-password", "a-new-password")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = first
        .change_password(&changer, "password-123", "short")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("password"),
        "{body}"
    );
    assert_eq!(
        second.status_of(Method::GET, "/user", &other).await,
        StatusCode::OK,
        "refused changes end nothing"
    );

    let (status, body) = first
        .change_password(&changer, "password-123", "a-new-password")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let took = takes_effect(second, "/user", &other, StatusCode::UNAUTHORIZED).await;
    eprintln!("the password change ended the other process's session after {took:?}");
    for app in [first, second] {
        assert_eq!(
            app.status_of(Method::GET, "/user", &changer).await,
            StatusCode::OK,
            "the token that changed the password keeps working"
        );
    }
    let (status, _) = second.login("jo@x.io", "password-123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password");
    let (status, _) = second.login("jo@x.io", "a-new-password").await;
    assert_eq!(status, StatusCode::OK, "the new password");
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_token_of_the_caller_on_every_process() {
    let processes = Processes::spawn().await;
    let (first, second) = (processes.first(), processes.second());
    let (asking, _) = first.customer("jo@x.io").await;
    let elsewhere = second.token_for("jo@x.io").await;
    let (bystander, _) = first.customer("al@x.io").await;
    assert_eq!(
        second.status_of(Method::GET, "/user", &elsewhere).await,
        StatusCode::OK
    );

    let res = first
        .request(Method::POST, "/logout?all=maybe", Some(&asking), None)
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = first
        .request(Method::POST, "/logout?all=true", Some(&asking), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        first.status_of(Method::GET, "/user", &asking).await,
        StatusCode::UNAUTHORIZED,
        "the asking token, at once"
    );
    let took = takes_effect(second, "/user", &elsewhere, StatusCode::UNAUTHORIZED).await;
    eprintln!("logging out everywhere reached the other process after {took:?}");
    assert_eq!(
        second.status_of(Method::GET, "/user", &bystander).await,
        StatusCode::OK,
        "another account keeps its sessions"
    );
    let fresh = second.token_for("jo@x.io").await;
    assert_eq!(
        first.status_of(Method::GET, "/user", &fresh).await,
        StatusCode::OK,
        "a login afterwards opens a new session"
    );
}

#[tokio::test]
async fn new_passwords_are_held_to_the_configured_minimum_but_logins_are_not() {
    let app = spawn_configured(3600.0, |settings| settings.auth.password_min_length = 20).await;
    let (status, body) = app.register("Jo", "jo@x.io", "nineteen-characters").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "password must be at least 20 characters");
    let (status, _) = app.register("Jo", "jo@x.io", "twenty-characters-ok").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, login) = app.login("jo@x.io", "twenty-characters-ok").await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["token"].as_str().expect("a token");
    let (status, body) = app
        .change_password(token, "twenty-characters-ok", "nineteen-characters")
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("password must be at least 20 characters")
        )
    );
    // The seeded admin's password is shorter than the minimum: it still logs in.
    assert!(ADMIN_PASSWORD.len() < 20);
    app.admin().await;
}

#[tokio::test]
async fn account_changes_are_checked_and_admin_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (customer, id) = app.customer("jo@x.io").await;
    let (_, me) = app.call(Method::GET, "/user", Some(&admin), None).await;
    let admin_id = me["id"].as_i64().unwrap();

    for body in [json!({"role": "customer"}), json!({"disabled": true})] {
        let (status, err) = app.patch_user(&admin, admin_id, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert!(
            err["error"].as_str().unwrap().contains("own account"),
            "{err}"
        );
    }
    let (status, unchanged) = app.patch_user(&admin, admin_id, json!({})).await;
    assert_eq!(
        (status, unchanged["role"].as_str()),
        (StatusCode::OK, Some("admin"))
    );

    let (status, err) = app.patch_user(&admin, id, json!({"role": "root"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"].as_str().unwrap().contains("role"), "{err}");
    let (status, err) = app.patch_user(&admin, id, json!({"disabled": "yes"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"].as_str().unwrap().contains("disabled"), "{err}");
    let (status, _) = app
        .patch_user(&admin, id + 1000, json!({"disabled": true}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = app
        .call(Method::PATCH, "/users/abc", Some(&admin), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"].as_str().unwrap().contains("user id"), "{err}");
    // A customer learns nothing, not even whether the body would have been valid.
    let (status, _) = app.patch_user(&customer, id, json!({"role": "root"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, user) = app.call(Method::GET, "/user", Some(&customer), None).await;
    assert_eq!(
        (user["role"].as_str(), user["disabled"].as_bool()),
        (Some("customer"), Some(false))
    );
}

#[tokio::test]
async fn a_deleted_accounts_token_is_a_401_everywhere() {
    let app = spawn_app().await;
    let (token, id) = app.customer("jo@x.io").await;
    // The API cannot delete an account; an operator's SQL can.
    app.sql_behind_the_service(&format!("DELETE FROM users WHERE id = {id}"))
        .await;
    let started = Instant::now();
    let gone = eventually(WITHIN, || async {
        app.status_of(Method::GET, "/user", &token).await == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(gone, "still accepted after {:?}", started.elapsed());
    let res = app
        .request(
            Method::POST,
            "/orders",
            Some(&token),
            Some(json!({"item_description": "Desk"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_login_response_is_never_stored_by_a_cache() {
    let app = spawn_app().await;
    app.customer("jo@x.io").await;
    let res = app
        .request(
            Method::POST,
            "/login",
            None,
            Some(json!({"email": "jo@x.io", "password": "password-123"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
}
