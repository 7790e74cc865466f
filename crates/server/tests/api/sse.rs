//! A small Server-Sent Events client for the tests: reads a `text/event-stream` response
//! event by event.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// One event, or one comment line (`: keep-alive`).
#[derive(Debug, Clone, PartialEq)]
pub enum Sse {
    Event {
        id: Option<String>,
        event: Option<String>,
        data: Value,
    },
    Comment(String),
}

impl Sse {
    /// The order an `order` event carries, with its version (the event id).
    pub fn order(&self) -> Option<(i64, &Value)> {
        match self {
            Sse::Event {
                id: Some(id),
                event: Some(event),
                data,
            } if event == "order" => Some((id.parse().ok()?, data)),
            _ => None,
        }
    }
}

pub struct EventStream {
    response: Response,
    buffer: String,
}

impl EventStream {
    /// Opens a stream; panics unless it answers 200 `text/event-stream`.
    pub async fn open(app: &TestApp, path: &str, token: &str, last_event_id: Option<&str>) -> Self {
        let response = Self::request(app, path, token, last_event_id).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            status,
            StatusCode::OK,
            "opening {path}: {:?}",
            response.text().await
        );
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The raw answer to a stream request, for the ones that must fail.
    pub async fn request(
        app: &TestApp,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Response {
        let mut req = app
            .client
            .get(format!("{}{}", app.base, path))
            .bearer_auth(token)
            // Streams last longer than the client's usual request timeout.
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        req.send().await.expect("stream request sent")
    }

    /// The next event or comment; `None` when the server ended the stream. Panics if
    /// nothing comes within `limit`.
    pub async fn next(&mut self, limit: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "nothing arrived within {limit:?}; buffered {:?}",
                        self.buffer
                    )
                })
                .expect("the stream reads");
            match chunk {
                Some(bytes) => self
                    .buffer
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8")),
                None => return None,
            }
        }
    }

    /// The next `order` event, skipping keep-alives: (version, order as the API renders it).
    pub async fn next_order(&mut self, limit: Duration) -> Option<(i64, Value)> {
        self.next_change(limit)
            .await
            .map(|(version, _, order)| (version, order))
    }

    /// The next `order` event, skipping keep-alives: (version, the kind of change, or null
    /// for the order as it was when the stream began, and the order as the API renders it).
    pub async fn next_change(&mut self, limit: Duration) -> Option<(i64, Value, Value)> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Sse::Comment(_) => continue,
                event => {
                    let (version, data) = event.order().expect("an order event");
                    let mut order = data.clone();
                    let kind = order
                        .as_object_mut()
                        .and_then(|o| o.remove("kind"))
                        .expect("every order event says its kind");
                    return Some((version, kind, order));
                }
            }
        }
    }

    /// Waits for the server to end the stream, skipping keep-alives; panics on an event.
    pub async fn ended(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                None => return true,
                Some(Sse::Comment(_)) => continue,
                Some(event) => panic!("expected the end of the stream, got {event:?}"),
            }
        }
    }
}

fn parse(block: &str) -> Sse {
    let (mut id, mut event, mut data) = (None, None, String::new());
    for line in block.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix(':') {
            return Sse::Comment(comment.trim().to_owned());
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => event = Some(value.to_owned()),
            "data" => data.push_str(value),
            other => panic!("unexpected field {other:?} in {block:?}"),
        }
    }
    Sse::Event {
        id,
        event,
        data: serde_json::from_str(&data)
            .unwrap_or_else(|e| panic!("data is JSON ({e}): {data:?}")),
    }
}
