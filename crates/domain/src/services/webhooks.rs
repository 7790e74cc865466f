use crate::SecretText;
use std::sync::Arc;

use crate::ports::{Clock, SecretSealer, WebhookRepository, WebhookTransport};
use crate::{
    Caller, DeliveryLogEntry, DomainError, NewWebhook, Page, PageRequest, Subscription, Webhook,
    WebhookId, WebhookUrl,
};

/// A new endpoint and the secret its deliveries are signed with, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: SecretText,
}

/// What sealing the stored keys again found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Keys now sealed under the current key that were not.
    pub resealed: usize,
    /// Keys sealed under a key this process does not hold; left as they are.
    pub unreadable: usize,
}

/// What admins do with webhook endpoints: add, list, remove, read their delivery log.
#[derive(Clone)]
pub struct WebhookService {
    webhooks: Arc<dyn WebhookRepository>,
    transport: Arc<dyn WebhookTransport>,
    sealer: Arc<dyn SecretSealer>,
    clock: Arc<dyn Clock>,
    max_endpoints: usize,
}

impl WebhookService {
    /// At most this many endpoints: each one multiplies every order change's writes.
    pub const MAX_ENDPOINTS: usize = 100;

    pub fn new(
        webhooks: Arc<dyn WebhookRepository>,
        transport: Arc<dyn WebhookTransport>,
        sealer: Arc<dyn SecretSealer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            webhooks,
            transport,
            sealer,
            clock,
            max_endpoints: Self::MAX_ENDPOINTS,
        }
    }

    /// Only admins manage webhooks; asked before a request is parsed, so that a customer
    /// learns nothing about which values would be accepted.
    pub fn ensure_may_manage(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_admin()
    }

    /// Subscribes a vetted URL to order events from now on.
    pub async fn create(
        &self,
        caller: Caller,
        url: WebhookUrl,
        subscription: Subscription,
    ) -> Result<CreatedWebhook, DomainError> {
        caller.ensure_admin()?;
        self.transport.vet(&url).await?;
        let secret = self.transport.new_secret();
        let new = NewWebhook {
            url,
            subscription,
            secret: self.sealer.seal(&secret),
            created_at: self.clock.now(),
        };
        let webhook = self
            .webhooks
            .insert(new, self.max_endpoints)
            .await?
            .ok_or_else(|| {
                DomainError::Validation(format!(
                    "at most {} webhooks may exist; delete one first",
                    self.max_endpoints
                ))
            })?;
        tracing::info!(
            webhook_id = webhook.id.get(),
            by = caller.user_id.get(),
            "webhook created"
        );
        Ok(CreatedWebhook { webhook, secret })
    }

    /// Seals every stored key that is not sealed under the current key (a key rotated out,
    /// a row from before keys were sealed), one compare-and-set each, so that any number of
    /// processes may do it at once.
    pub async fn reseal_secrets(&self) -> Result<ResealReport, DomainError> {
        let mut report = ResealReport::default();
        for (id, stored) in self.webhooks.sealed_secrets().await? {
            if !self.sealer.is_stale(&stored) {
                continue;
            }
            let secret = match self.sealer.open(&stored) {
                Ok(secret) => secret,
                Err(err) => {
                    tracing::warn!(webhook_id = id.get(), error = %err, "webhook key cannot be opened to seal it again");
                    report.unreadable += 1;
                    continue;
                }
            };
            let resealed = self.sealer.seal(&secret);
            if self.webhooks.replace_secret(id, &stored, &resealed).await? {
                report.resealed += 1;
            }
        }
        Ok(report)
    }

    pub async fn list(&self, caller: Caller) -> Result<Vec<Webhook>, DomainError> {
        caller.ensure_admin()?;
        self.webhooks.list().await
    }

    /// Removes the endpoint; its undelivered events are dropped with it.
    pub async fn delete(&self, caller: Caller, id: WebhookId) -> Result<(), DomainError> {
        caller.ensure_admin()?;
        if !self.webhooks.delete(id).await? {
            return Err(DomainError::NotFound("webhook"));
        }
        tracing::info!(
            webhook_id = id.get(),
            by = caller.user_id.get(),
            "webhook deleted"
        );
        Ok(())
    }

    /// One page of the endpoint's attempts, newest first.
    pub async fn deliveries(
        &self,
        caller: Caller,
        id: WebhookId,
        page: PageRequest,
    ) -> Result<Page<DeliveryLogEntry>, DomainError> {
        caller.ensure_admin()?;
        let rows = self
            .webhooks
            .attempts(id, page.before, page.size.fetch_limit())
            .await?
            .ok_or(DomainError::NotFound("webhook"))?;
        Ok(Page::from_overfetch(rows, page.size, |e| e.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockWebhookRepository, MockWebhookTransport};
    use crate::services::fixtures::{admin, customer, fixed_clock, sealer, T0};
    use crate::SealedSecret;

    fn url() -> WebhookUrl {
        WebhookUrl::parse("https://hooks.example.com/in").expect("valid url")
    }

    #[tokio::test]
    async fn a_vetted_url_is_stored_with_a_fresh_secret_shown_once() {
        let mut transport = MockWebhookTransport::new();
        transport.expect_vet().times(1).returning(|_| Ok(()));
        transport
            .expect_new_secret()
            .times(1)
            .returning(|| "s3cret".into());
        let mut repo = MockWebhookRepository::new();
        repo.expect_insert()
            .withf(|new, max| {
                new.secret.as_stored() == "v2:s3cret" && new.created_at == T0 && *max == 100
            })
            .times(1)
            .returning(|new, _| {
                Ok(Some(Webhook {
                    id: WebhookId::parse(3).expect("id"),
                    url: new.url,
                    subscription: new.subscription,
                    created_at: new.created_at,
                }))
            });
        let svc = WebhookService::new(Arc::new(repo), Arc::new(transport), sealer(), fixed_clock());
        let created = svc
            .create(admin(1), url(), Subscription::DEFAULT)
            .await
            .expect("created");
        assert_eq!(created.secret.expose(), "s3cret");
        assert_eq!(created.webhook.id.get(), 3);
    }

    #[tokio::test]
    async fn a_refused_url_stores_nothing() {
        let mut transport = MockWebhookTransport::new();
        transport
            .expect_vet()
            .returning(|_| Err(DomainError::Validation("url is private".into())));
        let repo = MockWebhookRepository::new();
        let svc = WebhookService::new(Arc::new(repo), Arc::new(transport), sealer(), fixed_clock());
        let refused = svc.create(admin(1), url(), Subscription::DEFAULT).await;
        assert!(matches!(refused, Err(DomainError::Validation(_))));
    }

    #[tokio::test]
    async fn only_admins_manage_webhooks_and_the_endpoint_count_is_bounded() {
        let mut transport = MockWebhookTransport::new();
        transport.expect_vet().returning(|_| Ok(()));
        transport
            .expect_new_secret()
            .returning(|| SecretText::new(""));
        let mut repo = MockWebhookRepository::new();
        repo.expect_insert().returning(|_, _| Ok(None));
        repo.expect_delete().returning(|_| Ok(false));
        let svc = WebhookService::new(Arc::new(repo), Arc::new(transport), sealer(), fixed_clock());
        assert!(matches!(
            svc.create(customer(2), url(), Subscription::DEFAULT).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            svc.list(customer(2)).await,
            Err(DomainError::Forbidden)
        ));
        let full = svc.create(admin(1), url(), Subscription::DEFAULT).await;
        assert!(matches!(full, Err(DomainError::Validation(m)) if m.contains("at most 100")));
        let missing = svc.delete(admin(1), WebhookId::parse(9).expect("id")).await;
        assert!(matches!(missing, Err(DomainError::NotFound("webhook"))));
    }

    #[tokio::test]
    async fn stale_keys_are_sealed_again_once_each_and_unreadable_ones_left_alone() {
        let mut repo = MockWebhookRepository::new();
        repo.expect_sealed_secrets().times(1).returning(|| {
            let id = |n| WebhookId::parse(n).expect("id");
            Ok(vec![
                (id(1), SealedSecret::new("v2:current")),
                (id(2), SealedSecret::new("v1:rotated-out")),
                (id(3), SealedSecret::new("whsec_from_before_sealing")),
                (id(4), SealedSecret::new("v9:held-elsewhere")),
            ])
        });
        repo.expect_replace_secret()
            .withf(|id, current, new| {
                (id.get() == 2
                    && current.as_stored() == "v1:rotated-out"
                    && new.as_stored() == "v2:rotated-out")
                    || (id.get() == 3
                        && current.as_stored() == "whsec_from_before_sealing"
                        && new.as_stored() == "v2:whsec_from_before_sealing")
            })
            .times(2)
            // The second lost its race to another process: not counted twice.
            .returning(|id, _, _| Ok(id.get() == 2));
        let svc = WebhookService::new(
            Arc::new(repo),
            Arc::new(MockWebhookTransport::new()),
            sealer(),
            fixed_clock(),
        );
        let report = svc.reseal_secrets().await.expect("resealed");
        assert_eq!(
            report,
            ResealReport {
                resealed: 1,
                unreadable: 1
            }
        );
    }
}
