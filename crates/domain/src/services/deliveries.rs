use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::telemetry;
use crate::ports::{Clock, SecretSealer, WebhookRepository, WebhookTransport};
use crate::{AttemptRecord, DomainError, NextStep, PendingDelivery, RetryPolicy, SendOutcome};

/// Sends due webhook deliveries, one claimed batch at a time, and records every attempt.
/// Holds nothing between batches: what is due is read from the store, so any number of
/// processes share the work and a crashed one loses nothing.
#[derive(Clone)]
pub struct DeliveryService {
    webhooks: Arc<dyn WebhookRepository>,
    transport: Arc<dyn WebhookTransport>,
    sealer: Arc<dyn SecretSealer>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    /// How long a claimed delivery is reserved for its attempt: longer than an attempt may
    /// take, so that it is retried only when its process died.
    lease: Duration,
    batch_size: usize,
}

impl DeliveryService {
    pub fn new(
        webhooks: Arc<dyn WebhookRepository>,
        transport: Arc<dyn WebhookTransport>,
        sealer: Arc<dyn SecretSealer>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
        lease: Duration,
        batch_size: usize,
    ) -> Self {
        Self {
            webhooks,
            transport,
            sealer,
            clock,
            policy,
            lease,
            batch_size: batch_size.max(1),
        }
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Forgets up to `limit` deliveries and log entries that finished more than `kept_for`
    /// ago; returns how many rows went.
    pub async fn purge_finished(&self, kept_for: Duration, limit: i64) -> Result<u64, DomainError> {
        let kept_for = chrono::Duration::from_std(kept_for).unwrap_or(chrono::Duration::days(7));
        self.webhooks
            .purge_finished(self.clock.now() - kept_for, limit)
            .await
    }

    /// Claims one batch of due deliveries, sends them all at once and records the
    /// attempts; returns how many were attempted. A full batch means more may be due.
    pub async fn tick(&self) -> Result<usize, DomainError> {
        let now = self.clock.now();
        let lease = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::minutes(1));
        let claimed = self
            .webhooks
            .claim_due(now, now + lease, self.batch_size)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let outcomes = join_all(claimed.iter().map(|d| self.attempt(d))).await;
        let finished_at = self.clock.now();
        let records: Vec<AttemptRecord> = claimed
            .iter()
            .zip(outcomes)
            .map(|(delivery, outcome)| {
                let next = self
                    .policy
                    .next_step(delivery.attempt, &outcome, finished_at);
                telemetry::webhook_attempt(next);
                match next {
                    NextStep::Delivered => tracing::debug!(
                        webhook_id = delivery.webhook_id.get(),
                        event_id = %delivery.event.id,
                        attempt = delivery.attempt,
                        "webhook delivered"
                    ),
                    NextStep::RetryAt(at) => tracing::info!(
                        webhook_id = delivery.webhook_id.get(),
                        event_id = %delivery.event.id,
                        attempt = delivery.attempt,
                        status = outcome.status_code,
                        error = outcome.error.as_deref(),
                        retry_at = %at,
                        "webhook delivery failed; will retry"
                    ),
                    NextStep::GaveUp => tracing::warn!(
                        webhook_id = delivery.webhook_id.get(),
                        event_id = %delivery.event.id,
                        attempt = delivery.attempt,
                        status = outcome.status_code,
                        error = outcome.error.as_deref(),
                        "webhook delivery failed for the last time; giving up"
                    ),
                }
                AttemptRecord {
                    delivery_id: delivery.delivery_id,
                    webhook_id: delivery.webhook_id,
                    event_type: delivery.event.kind,
                    attempt: delivery.attempt,
                    status_code: outcome.status_code,
                    error: outcome.error.as_deref().map(crate::webhook::clip_error),
                    at: finished_at,
                    next,
                }
            })
            .collect();
        let attempted = records.len();
        self.webhooks.record(records).await?;
        Ok(attempted)
    }

    /// Sends the delivery signed with its endpoint's key; a key this process cannot open
    /// fails the attempt like an unreachable endpoint, to be retried (by a process that
    /// holds the key, in a rotation half rolled out).
    async fn attempt(&self, delivery: &PendingDelivery) -> SendOutcome {
        match self.sealer.open(&delivery.secret) {
            Ok(secret) => self.transport.send(delivery, &secret).await,
            Err(err) => SendOutcome {
                status_code: None,
                error: Some(format!(
                    "the endpoint's signing key cannot be opened: {err}"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockWebhookRepository, MockWebhookTransport};
    use crate::services::fixtures::{fixed_clock, order, sealer, T0};
    use crate::{
        ActorKind, OrderStatus, PendingDelivery, SealedSecret, SendOutcome, WebhookEvent,
        WebhookEventType, WebhookId, WebhookUrl,
    };

    fn pending(delivery_id: i64, attempt: u32) -> PendingDelivery {
        PendingDelivery {
            delivery_id,
            webhook_id: WebhookId::parse(1).expect("id"),
            url: WebhookUrl::parse("https://example.com/hook").expect("url"),
            secret: SealedSecret::new("v2:k"),
            attempt,
            event: WebhookEvent {
                id: format!("event-{delivery_id}"),
                kind: WebhookEventType::OrderCreated,
                created_at: T0,
                order: order(delivery_id, 7, OrderStatus::Created, 1),
                from: None,
                to: OrderStatus::Created,
                actor: ActorKind::Customer,
                actor_id: None,
            },
        }
    }

    fn service(repo: MockWebhookRepository, transport: MockWebhookTransport) -> DeliveryService {
        DeliveryService::new(
            Arc::new(repo),
            Arc::new(transport),
            sealer(),
            fixed_clock(),
            RetryPolicy {
                base: Duration::from_secs(10),
                max_attempts: 3,
            },
            Duration::from_secs(15),
            50,
        )
    }

    #[tokio::test]
    async fn each_claimed_delivery_is_sent_once_and_its_outcome_recorded() {
        let mut repo = MockWebhookRepository::new();
        repo.expect_claim_due()
            .withf(|now, lease_until, limit| {
                *now == T0 && *lease_until == T0 + chrono::Duration::seconds(15) && *limit == 50
            })
            .times(1)
            .returning(|_, _, _| Ok(vec![pending(1, 1), pending(2, 3), pending(3, 1)]));
        repo.expect_record()
            .withf(|records| {
                let next: Vec<_> = records.iter().map(|r| (r.delivery_id, r.next)).collect();
                next == vec![
                    (1, NextStep::Delivered),
                    (2, NextStep::GaveUp),
                    (3, NextStep::RetryAt(T0 + chrono::Duration::seconds(10))),
                ] && records[1].status_code == Some(500)
                    && records[2].error.as_deref() == Some("connection refused")
            })
            .times(1)
            .returning(|_| Ok(()));
        let mut transport = MockWebhookTransport::new();
        transport
            .expect_send()
            .withf(|_, secret| secret.expose() == "k")
            .times(3)
            .returning(|d, _| match d.delivery_id {
                1 => SendOutcome {
                    status_code: Some(200),
                    error: None,
                },
                2 => SendOutcome {
                    status_code: Some(500),
                    error: None,
                },
                _ => SendOutcome {
                    status_code: None,
                    error: Some("connection refused".into()),
                },
            });
        assert_eq!(service(repo, transport).tick().await.expect("tick"), 3);
    }

    #[tokio::test]
    async fn a_key_this_process_cannot_open_fails_the_attempt_unsent_to_be_retried() {
        let mut repo = MockWebhookRepository::new();
        repo.expect_claim_due().returning(|_, _, _| {
            let mut unreadable = pending(1, 1);
            unreadable.secret = SealedSecret::new("v9:sealed-elsewhere");
            Ok(vec![unreadable])
        });
        repo.expect_record()
            .withf(|records| {
                records.len() == 1
                    && records[0].next == NextStep::RetryAt(T0 + chrono::Duration::seconds(10))
                    && records[0].status_code.is_none()
                    && records[0]
                        .error
                        .as_deref()
                        .is_some_and(|e| e.contains("signing key cannot be opened"))
            })
            .times(1)
            .returning(|_| Ok(()));
        let mut transport = MockWebhookTransport::new();
        transport.expect_send().never();
        assert_eq!(service(repo, transport).tick().await.expect("tick"), 1);
    }

    #[tokio::test]
    async fn nothing_due_sends_and_records_nothing() {
        let mut repo = MockWebhookRepository::new();
        repo.expect_claim_due().returning(|_, _, _| Ok(vec![]));
        repo.expect_record().never();
        let mut transport = MockWebhookTransport::new();
        transport.expect_send().never();
        assert_eq!(service(repo, transport).tick().await.expect("tick"), 0);
    }
}
