//! The embedded store serves one process: a second server on the same file is refused.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;
use crate::server_process::{self, ServerProcess};

#[tokio::test]
async fn a_second_server_on_the_same_embedded_store_is_refused_with_a_clear_message() {
    let scratch = ScratchDatabase::new();
    let database_url = format!("sqlite://{}", scratch.path().display());
    let first = ServerProcess::start(&database_url, "3600").await;
    let second = server_process::binary(&database_url, "0")
        .kill_on_drop(true)
        .output();
    let second = tokio::time::timeout(Duration::from_secs(30), second)
        .await
        .expect("the second server gives up at once")
        .expect("the server binary runs");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "the second server started: {stderr}"
    );
    assert!(
        stderr.contains("is in use by another Trachios process") && stderr.contains("PostgreSQL"),
        "{stderr}"
    );
    let app = TestApp::new(first.base.clone(), &database_url);
    let (status, body) = app.register("Jo", "jo@x.io", "password-123").await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the first one still serves: {body}"
    );
}
