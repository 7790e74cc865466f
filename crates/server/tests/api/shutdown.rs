//! Graceful shutdown of the real binary on SIGTERM.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::server_process::ServerProcess;

#[tokio::test]
async fn sigterm_lets_in_flight_requests_and_the_current_batch_finish() {
    let (database_url, _scratch) = fresh_store().await;
    let mut server = ServerProcess::start(&database_url, "0.2").await;
    let app = TestApp::new(server.base.clone(), &database_url);
    let (token, _) = app.customer("jo@x.io").await;
    for n in 0..150 {
        app.create_order(&token, &format!("item {n}")).await;
    }

    // Registrations hash a password each (tens of milliseconds), so these are still in
    // flight when the signal arrives.
    // A client of their own: a request racing the close of an idle keep-alive connection
    // is a client-side retry matter, not what this test is about.
    let late_client = reqwest::Client::new();
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel();
    let in_flight: Vec<_> = (0..48)
        .map(|n| {
            let client = late_client.clone();
            let url = format!("{}/register", app.base);
            let answered = answered_tx.clone();
            tokio::spawn(async move {
                let outcome = client
                    .post(url)
                    .json(&json!({"name": "Late", "email": format!("late{n}@x.io"), "password": "password-123"}))
                    .send()
                    .await
                    .map(|r| (r.status(), Instant::now()));
                // The test stops listening once it has signalled; later answers need no one.
                answered.send(()).ok();
                outcome
            })
        })
        .collect();
    // Signal as soon as the first answer arrives: the server is busy with the late
    // registrations, and the rest are still hashing or queued.
    tokio::time::timeout(Duration::from_secs(20), answered_rx.recv())
        .await
        .expect("the server answers a late registration within 20 s")
        .expect("a request task reports its answer");
    server.signal("TERM").await;
    let signalled = Instant::now();

    // A request the server had started answers; a connection still queued for a worker
    // when the signal came is closed unanswered (actix drops queued connections) and must
    // then not have been applied, so that the client can simply retry it.
    let mut answered_after_signal = 0;
    let mut unanswered = Vec::new();
    for (n, request) in in_flight.into_iter().enumerate() {
        match request.await.expect("the request task did not panic") {
            Ok((status, at)) => {
                assert_eq!(status, StatusCode::CREATED);
                answered_after_signal += usize::from(at > signalled);
            }
            Err(_) => unanswered.push(n),
        }
    }
    assert!(
        answered_after_signal > 0,
        "some requests were still in flight when the signal came"
    );
    assert!(
        unanswered.len() <= 4,
        "only connections still queued may go unanswered: {unanswered:?}"
    );
    let exit = server
        .wait_for_exit(Duration::from_secs(30))
        .await
        .expect("the server exits after SIGTERM");
    assert!(exit.success(), "clean exit: {exit:?}");
    assert!(
        app.client
            .get(format!("{}/health", app.base))
            .send()
            .await
            .is_err(),
        "nothing listens any more"
    );

    let again = ServerProcess::start(&database_url, "0.2").await;
    let retry = TestApp::new(again.base.clone(), &database_url);
    for n in unanswered {
        let (status, body) = retry
            .register("Late", &format!("late{n}@x.io"), "password-123")
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "an unanswered registration was not applied: {body}"
        );
    }
    drop(again);

    // Every step is all-or-nothing: each order has exactly one event per version, and its
    // status is the one its last event recorded.
    let rows = audit_orders(&database_url).await;
    assert_eq!(rows.len(), 150);
    for (order, events, last_to) in rows {
        assert_eq!(
            events, order.version,
            "order {} has one event per change",
            order.id
        );
        assert_eq!(
            Some(order.status),
            last_to,
            "order {} matches its history",
            order.id
        );
    }
}
