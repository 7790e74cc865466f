//! Deliveries over HTTP(S) with reqwest.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
use reqwest::redirect::Policy;
use trachios_domain::ports::{OrderRenderer, WebhookTransport};
use trachios_domain::{DomainError, PendingDelivery, SecretText, SendOutcome, WebhookUrl};
use url::Url;

use crate::guard::DestinationGuard;
use crate::payload::event_body;
use crate::resolver::{GuardedResolver, Refused};
use crate::signature::{sign, SIGNATURE_HEADER};

pub const EVENT_ID_HEADER: &str = "Trachios-Event-Id";

/// The most of an answer's body read (and thrown away) so that its connection can be
/// reused; a longer answer closes the connection instead.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How deliveries go out.
#[derive(Debug, Clone, Copy)]
pub struct TransportSettings {
    /// An attempt that has no complete answer within this fails.
    pub timeout: Duration,
    /// `WEBHOOK_ALLOW_PRIVATE`: let webhooks reach loopback and private networks.
    pub allow_private: bool,
}

/// Sends signed events to webhook endpoints: no proxy, no redirects, public addresses
/// only (unless allowed), connections kept alive between deliveries.
pub struct HttpTransport {
    client: reqwest::Client,
    /// Renders the order in each event as the API does.
    renderer: Arc<dyn OrderRenderer>,
    guard: DestinationGuard,
    timeout: Duration,
}

impl HttpTransport {
    pub fn new(
        settings: TransportSettings,
        renderer: Arc<dyn OrderRenderer>,
    ) -> Result<Self, DomainError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .redirect(Policy::none())
            // A proxy would connect to the destination on our behalf, past the guard.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: settings.allow_private,
            }))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(DomainError::internal)?;
        Ok(Self {
            client,
            renderer,
            guard: DestinationGuard {
                allow_private: settings.allow_private,
            },
            timeout: settings.timeout,
        })
    }

    /// What went wrong, as the admins who read the delivery log may know it: never the URL
    /// reqwest puts in its message (it may carry a token of the receiver's), and for a
    /// connection that failed only "unreachable" — a refused port, a silent one and a
    /// missing route told apart would make webhooks a port scanner of the server's
    /// network. The cause goes to the server's log.
    fn failure(&self, err: &reqwest::Error) -> String {
        let cause = std::error::Error::source(err);
        let mut chain = cause.map(trachios_domain::error_chain).unwrap_or_default();
        if refused_by_resolver(err) {
            return Refused.to_string();
        }
        if err.is_connect() {
            tracing::info!(cause = %chain, "webhook destination unreachable");
            return "unreachable".to_owned();
        }
        if err.is_timeout() {
            return format!("no answer within {} s", self.timeout.as_secs_f64());
        }
        let text = if err.is_body() || err.is_decode() {
            "reading the answer failed"
        } else {
            "request failed"
        };
        if chain.is_empty() {
            text.to_owned()
        } else {
            chain.insert_str(0, ": ");
            chain.insert_str(0, text);
            chain
        }
    }
}

/// Whether our own resolver refused the destination (it resolves inside).
fn refused_by_resolver(err: &reqwest::Error) -> bool {
    let mut cause = std::error::Error::source(err);
    while let Some(current) = cause {
        if current.downcast_ref::<Refused>().is_some() {
            return true;
        }
        cause = current.source();
    }
    false
}

#[async_trait]
impl WebhookTransport for HttpTransport {
    async fn vet(&self, url: &WebhookUrl) -> Result<(), DomainError> {
        self.guard.vet(url).await
    }

    fn new_secret(&self) -> SecretText {
        SecretText::new(format!(
            "whsec_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ))
    }

    async fn send(&self, delivery: &PendingDelivery, secret: &SecretText) -> SendOutcome {
        let refused = |why: &str| SendOutcome {
            status_code: None,
            error: Some(why.to_owned()),
        };
        let Ok(url) = Url::parse(delivery.url.as_str()) else {
            return refused("the url cannot be parsed");
        };
        if let Err(why) = self.guard.check_literal(&url) {
            return refused(why);
        }
        let Ok(event_id) = HeaderValue::from_str(&delivery.event.id) else {
            return refused("the event id is not a header value");
        };
        let body = match event_body(&delivery.event, &*self.renderer) {
            Ok(body) => body,
            Err(err) => return refused(&err.chain()),
        };
        let signature = sign(secret.expose(), chrono::Utc::now().timestamp(), &body);
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("Trachios-Webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header(crate::EVENT_ID_HEADER, event_id)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let mut answer = match sent {
            Ok(answer) => answer,
            Err(err) => return refused(&self.failure(&err)),
        };
        let status = answer.status().as_u16();
        let mut read = 0;
        // Reading the rest lets the connection serve the next delivery; an answer that
        // keeps coming is cut off (the status is what counts).
        while read <= MAX_ANSWER_BYTES {
            match answer.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        SendOutcome {
            status_code: Some(status),
            error: None,
        }
    }
}
