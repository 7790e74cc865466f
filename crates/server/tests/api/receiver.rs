//! A webhook receiver on a free local port: it records every request and answers with the
//! statuses it was scripted with, then 200.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: String,
    pub signature: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

struct State {
    script: Vec<u16>,
    seen: Vec<Received>,
    /// Requests arrived and not yet answered.
    in_flight: usize,
    /// While false, answers wait.
    released: tokio::sync::watch::Receiver<bool>,
}

pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    release: tokio::sync::watch::Sender<bool>,
}

impl Receiver {
    /// Answers the n-th request with `script[n]`, and 200 once the script is used up; each
    /// answer comes after `delay`.
    pub fn start(script: Vec<u16>, delay: Duration) -> Self {
        let receiver = Self::holding(script, delay);
        receiver.release();
        receiver
    }

    /// Like `start`, but every answer waits until `release`.
    pub fn holding(script: Vec<u16>, delay: Duration) -> Self {
        let (release, released) = tokio::sync::watch::channel(false);
        let state = Arc::new(Mutex::new(State {
            script,
            seen: Vec::new(),
            in_flight: 0,
            released,
        }));
        let shared = web::Data::from(state.clone());
        let server =
            HttpServer::new(move || {
                App::new().app_data(shared.clone()).default_service(web::to(
                    move |state, req, body| answer(state, req, body, delay),
                ))
            })
            .workers(2)
            .bind(("127.0.0.1", 0))
            .expect("the receiver binds");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            state,
            release,
        }
    }

    /// Lets every held and later answer go.
    pub fn release(&self) {
        self.release.send_replace(true);
    }

    pub fn in_flight(&self) -> usize {
        self.state.lock().expect("receiver state").in_flight
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("receiver state").seen.clone()
    }

    pub fn count(&self) -> usize {
        self.state.lock().expect("receiver state").seen.len()
    }
}

async fn answer(
    state: web::Data<Mutex<State>>,
    req: HttpRequest,
    body: web::Bytes,
    delay: Duration,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, mut released) = {
        let mut state = state.lock().expect("receiver state");
        state.in_flight += 1;
        let n = state.seen.len();
        state.seen.push(Received {
            event_id: header("trachios-event-id"),
            signature: header("trachios-signature"),
            content_type: header("content-type"),
            body: body.to_vec(),
        });
        (
            state.script.get(n).copied().unwrap_or(200),
            state.released.clone(),
        )
    };
    // A dropped sender (the receiver is gone) releases too.
    released.wait_for(|go| *go).await.ok();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    state.lock().expect("receiver state").in_flight -= 1;
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a scripted status"))
        .finish()
}
