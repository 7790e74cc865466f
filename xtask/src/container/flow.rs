//! The README's tour with curl, through a running container: the page, readiness, a
//! customer who registers, logs in, places an order and cancels it, another order followed
//! on its stream until the lifecycle delivers it, and the admin's list. Run again after a
//! restart, it finds what the first walk left.

use std::time::Duration;

use anyhow::{bail, ensure, Context};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// What a walk left behind, to be found again after a restart.
pub(super) struct Walked {
    email: String,
    password: String,
    cancelled: i64,
    delivered: i64,
}

/// Both orders reach a terminal status within this (ORDER_STEP_SECONDS=1 in every run).
const LIFECYCLE_LIMIT: Duration = Duration::from_secs(60);

pub(super) struct Service {
    origin: String,
    client: Client,
}

impl Service {
    pub(super) fn at(origin: String) -> anyhow::Result<Self> {
        let client = Client::builder().timeout(Duration::from_secs(90)).build()?;
        Ok(Self { origin, client })
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.origin)
    }

    /// `/ready` says ready, with the database and the cache up.
    pub(super) async fn ready(&self) -> anyhow::Result<bool> {
        let Ok(response) = self
            .client
            .get(format!("{}/ready", self.origin))
            .timeout(Duration::from_secs(3))
            .send()
            .await
        else {
            return Ok(false);
        };
        if response.status() != StatusCode::OK {
            return Ok(false);
        }
        let body: Value = response.json().await?;
        Ok(body["status"] == "ready" && body["database"] == "up" && body["cache"] == "up")
    }

    pub(super) async fn walk(&self, admin: (&str, &str)) -> anyhow::Result<Walked> {
        let page = self.client.get(format!("{}/", self.origin)).send().await?;
        ensure!(
            page.status() == StatusCode::OK,
            "GET / answered {}",
            page.status()
        );
        ensure!(
            page.text().await?.to_ascii_lowercase().contains("<html"),
            "GET / is not the customer page"
        );
        let email = format!("container-{}@example.com", super::random_secret()?);
        let password = "secret123".to_owned();
        let register = self
            .client
            .post(self.api("/register"))
            .json(&json!({"name": "John Doe", "email": email, "password": password}));
        answered(register, StatusCode::CREATED, "POST /register").await?;
        let token = self.login(&email, &password).await?;
        let cancelled = self.place(&token, "Standing desk").await?;
        let order = self.order(&token, cancelled).await?;
        ensure!(order["status"] == "created", "a new order: {order}");
        let cancel = self
            .client
            .put(self.api(&format!("/orders/{cancelled}/cancel")))
            .bearer_auth(&token);
        let cancelled_order = answered(cancel, StatusCode::OK, "PUT /orders/{id}/cancel").await?;
        ensure!(
            cancelled_order["status"] == "cancelled",
            "a cancel answered {cancelled_order}"
        );
        let delivered = self.place(&token, "Office chair").await?;
        let stream = self.stream_until_it_ends(&token, delivered).await?;
        for status in ["created", "dispatched", "in_transit", "delivered"] {
            ensure!(
                stream.contains(&format!("\"status\":\"{status}\"")),
                "the stream of order {delivered} never showed {status}: {stream}"
            );
        }
        let history = self
            .get(&token, &format!("/orders/{delivered}/history"))
            .await?;
        ensure!(
            history.as_array().map(Vec::len) == Some(4),
            "a delivered order's history has four entries: {history}"
        );
        let admin_token = self.login(admin.0, admin.1).await?;
        let all = self.get(&admin_token, "/orders?limit=1000").await?;
        let ids: Vec<i64> = all
            .as_array()
            .context("GET /orders is an array")?
            .iter()
            .filter_map(|o| o["id"].as_i64())
            .collect();
        ensure!(
            ids.contains(&cancelled) && ids.contains(&delivered),
            "the admin's list lacks the customer's orders"
        );
        Ok(Walked {
            email,
            password,
            cancelled,
            delivered,
        })
    }

    /// The customer of an earlier walk logs in again and finds both orders as they were left.
    pub(super) async fn find(&self, walked: &Walked) -> anyhow::Result<()> {
        let token = self.login(&walked.email, &walked.password).await?;
        for (id, status) in [
            (walked.cancelled, "cancelled"),
            (walked.delivered, "delivered"),
        ] {
            let order = self.order(&token, id).await?;
            ensure!(order["status"] == status, "after the restart: {order}");
        }
        Ok(())
    }

    async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let request = self
            .client
            .post(self.api("/login"))
            .json(&json!({"email": email, "password": password}));
        let body = answered(request, StatusCode::OK, &format!("login as {email}")).await?;
        body["token"]
            .as_str()
            .map(str::to_owned)
            .context("login answered no token")
    }

    async fn place(&self, token: &str, item: &str) -> anyhow::Result<i64> {
        let request = self
            .client
            .post(self.api("/orders"))
            .bearer_auth(token)
            .json(&json!({"item_description": item}));
        let body = answered(request, StatusCode::CREATED, "POST /orders").await?;
        body["id"].as_i64().context("a created order has an id")
    }

    async fn order(&self, token: &str, id: i64) -> anyhow::Result<Value> {
        self.get(token, &format!("/orders/{id}")).await
    }

    async fn get(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        let request = self.client.get(self.api(path)).bearer_auth(token);
        answered(request, StatusCode::OK, &format!("GET {path}")).await
    }

    /// The order's stream, read until the server ends it after the order's last status.
    async fn stream_until_it_ends(&self, token: &str, id: i64) -> anyhow::Result<String> {
        let mut response = self
            .client
            .get(self.api(&format!("/orders/{id}/stream")))
            .bearer_auth(token)
            .send()
            .await?;
        ensure!(
            response.status() == StatusCode::OK,
            "the stream answered {}",
            response.status()
        );
        let mut seen = Vec::new();
        let read = tokio::time::timeout(LIFECYCLE_LIMIT, async {
            while let Some(chunk) = response.chunk().await? {
                seen.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(())
        })
        .await;
        match read {
            Ok(result) => result?,
            Err(_) => bail!(
                "order {id} was not delivered within {LIFECYCLE_LIMIT:?}: {}",
                String::from_utf8_lossy(&seen)
            ),
        }
        Ok(String::from_utf8_lossy(&seen).into_owned())
    }
}

/// The JSON body of a response with the `expected` status.
async fn answered(
    request: reqwest::RequestBuilder,
    expected: StatusCode,
    what: &str,
) -> anyhow::Result<Value> {
    let response = request.send().await?;
    ensure!(
        response.status() == expected,
        "{what} answered {}",
        response.status()
    );
    Ok(response.json().await?)
}
