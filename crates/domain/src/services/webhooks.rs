use crate::SecretText;
use std::sync::Arc;

use crate::ports::{Clock, WebhookRepository, WebhookTransport};
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

/// What admins do with webhook endpoints: add, list, remove, read their delivery log.
#[derive(Clone)]
pub struct WebhookService {
    webhooks: Arc<dyn WebhookRepository>,
    transport: Arc<dyn WebhookTransport>,
    clock: Arc<dyn Clock>,
    max_endpoints: usize,
}

impl WebhookService {
    /// At most this many endpoints: each one multiplies every order change's writes.
    pub const MAX_ENDPOINTS: usize = 100;

    pub fn new(
        webhooks: Arc<dyn WebhookRepository>,
        transport: Arc<dyn WebhookTransport>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            webhooks,
            transport,
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
            secret: secret.clone(),
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
    use crate::services::fixtures::{admin, customer, fixed_clock, T0};

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
                new.secret.expose() == "s3cret" && new.created_at == T0 && *max == 100
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
        let svc = WebhookService::new(Arc::new(repo), Arc::new(transport), fixed_clock());
        let created = svc
            .create(admin(1), url(), Subscription::ALL)
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
        let svc = WebhookService::new(Arc::new(repo), Arc::new(transport), fixed_clock());
        let refused = svc.create(admin(1), url(), Subscription::ALL).await;
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
        let svc = WebhookService::new(Arc::new(repo), Arc::new(transport), fixed_clock());
        assert!(matches!(
            svc.create(customer(2), url(), Subscription::ALL).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            svc.list(customer(2)).await,
            Err(DomainError::Forbidden)
        ));
        let full = svc.create(admin(1), url(), Subscription::ALL).await;
        assert!(matches!(full, Err(DomainError::Validation(m)) if m.contains("at most 100")));
        let missing = svc.delete(admin(1), WebhookId::parse(9).expect("id")).await;
        assert!(matches!(missing, Err(DomainError::NotFound("webhook"))));
    }
}
