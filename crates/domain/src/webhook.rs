//! Webhooks: endpoints that hear of order events, the events themselves, and the record of
//! each attempt to deliver one.
//!
//! Every order creation and status change is an event. The store records it for every
//! subscribed endpoint in the change's own transaction (the outbox), so an event is
//! announced exactly when its change committed; delivery workers then claim due deliveries,
//! send them and record each attempt.

use crate::error::corrupt;
use crate::SealedSecret;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{ActorKind, DomainError, EventKind, Order, OrderStatus, UserId, WebhookId};

/// What an endpoint can subscribe to. Its names and list come from this declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray)]
pub enum WebhookEventType {
    #[strum(serialize = "order.created")]
    OrderCreated,
    #[strum(serialize = "order.status_changed")]
    StatusChanged,
    #[strum(serialize = "order.updated")]
    OrderUpdated,
}

impl WebhookEventType {
    pub const ALL: &'static [WebhookEventType] =
        <WebhookEventType as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        crate::names::parse(raw, Self::ALL, Self::as_str, "events")
    }

    /// The type endpoints hear an event of this kind as; `None` for a kind no endpoint
    /// can subscribe to yet.
    pub fn of_event(kind: EventKind) -> Option<Self> {
        match kind {
            EventKind::Created => Some(WebhookEventType::OrderCreated),
            EventKind::StatusChanged => Some(WebhookEventType::StatusChanged),
            EventKind::Edited => Some(WebhookEventType::OrderUpdated),
            EventKind::Shipment => None,
        }
    }

    /// The kind of the history event this type announces.
    pub fn event_kind(self) -> EventKind {
        match self {
            WebhookEventType::OrderCreated => EventKind::Created,
            WebhookEventType::StatusChanged => EventKind::StatusChanged,
            WebhookEventType::OrderUpdated => EventKind::Edited,
        }
    }
}

/// The event types an endpoint hears: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    pub order_created: bool,
    pub status_changed: bool,
    pub order_updated: bool,
}

impl Subscription {
    /// What a webhook that names no types hears: the pair version 2 had, so that an
    /// endpoint made the way it always was receives what it always did.
    pub const DEFAULT: Subscription = Subscription {
        order_created: true,
        status_changed: true,
        order_updated: false,
    };

    const NONE: Subscription = Subscription {
        order_created: false,
        status_changed: false,
        order_updated: false,
    };

    /// The types named; an empty list is refused (it would subscribe to nothing).
    pub fn parse(names: &[String]) -> Result<Self, DomainError> {
        let mut subscription = Self::NONE;
        for name in names {
            *subscription.flag(WebhookEventType::parse(name)?) = true;
        }
        if subscription.types().is_empty() {
            return Err(DomainError::Validation(
                "events must name at least one event type".to_owned(),
            ));
        }
        Ok(subscription)
    }

    fn flag(&mut self, kind: WebhookEventType) -> &mut bool {
        match kind {
            WebhookEventType::OrderCreated => &mut self.order_created,
            WebhookEventType::StatusChanged => &mut self.status_changed,
            WebhookEventType::OrderUpdated => &mut self.order_updated,
        }
    }

    pub fn hears(mut self, kind: WebhookEventType) -> bool {
        *self.flag(kind)
    }

    pub fn types(self) -> Vec<WebhookEventType> {
        WebhookEventType::ALL
            .iter()
            .copied()
            .filter(|t| self.hears(*t))
            .collect()
    }
}

/// An endpoint's URL: `http` or `https` with a host, no credentials, at most
/// `WebhookUrl::MAX_LEN` bytes. Whether its host may be called is the transport's to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = |why: &str| DomainError::Validation(format!("url {why}"));
        if raw.len() > Self::MAX_LEN {
            return Err(invalid("must be at most 2048 bytes"));
        }
        let lower = raw.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| invalid("must start with http:// or https://"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() {
            return Err(invalid("must name a host"));
        }
        if authority.contains('@') {
            return Err(invalid("must not carry credentials"));
        }
        // A URL on the wire is printable ASCII; anything else must be percent-encoded.
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "must be printable ASCII without spaces (percent-encode anything else)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An endpoint about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    pub subscription: Subscription,
    /// The key its deliveries are signed with, sealed; shown to the admin once, at creation.
    pub secret: SealedSecret,
    pub created_at: DateTime<Utc>,
}

/// A stored endpoint (its secret stays in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: WebhookUrl,
    pub subscription: Subscription,
    pub created_at: DateTime<Utc>,
}

/// One order event as endpoints receive it: the change, and the order as it left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// A UUID, the same in every attempt and for every endpoint: receivers drop duplicates
    /// by it.
    pub id: String,
    pub kind: WebhookEventType,
    pub created_at: DateTime<Utc>,
    pub order: Order,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor: ActorKind,
    pub actor_id: Option<UserId>,
}

/// A delivery claimed for one attempt: where to, with which key, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    pub delivery_id: i64,
    pub webhook_id: WebhookId,
    pub url: WebhookUrl,
    /// Opened only to sign, by the delivery service.
    pub secret: SealedSecret,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub event: WebhookEvent,
}

/// What one attempt got back: a status code, or why there was none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

impl SendOutcome {
    /// Only a 2xx answer delivers.
    pub fn delivered(&self) -> bool {
        matches!(self.status_code, Some(200..=299))
    }
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(DateTime<Utc>),
    /// The last allowed attempt failed.
    GaveUp,
}

impl NextStep {
    /// The delivery's stored state after this step (`pending`, `delivered`, `expired`), and
    /// when it is due again if it is still pending.
    pub fn stored(self) -> (&'static str, Option<DateTime<Utc>>) {
        match self {
            NextStep::Delivered => ("delivered", None),
            NextStep::RetryAt(at) => ("pending", Some(at)),
            NextStep::GaveUp => ("expired", None),
        }
    }
}

/// One attempt made, to be recorded with what follows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub webhook_id: WebhookId,
    /// The delivered event's type, as the delivery log shows it.
    pub event_type: WebhookEventType,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
    pub next: NextStep,
}

/// One line of an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryLogEntry {
    /// Orders the log; the page cursor.
    pub id: i64,
    pub event_id: String,
    pub event_type: WebhookEventType,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// When failed deliveries are tried again: `base`, doubling, for `max_attempts` attempts in
/// all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// After attempt `attempt` (1-based) failed at `now`: when to try again, or give up.
    pub fn after_failure(&self, attempt: u32, now: DateTime<Utc>) -> NextStep {
        if attempt >= self.max_attempts {
            return NextStep::GaveUp;
        }
        // 2^30 × any sane base is past any calendar; cap the exponent so nothing overflows.
        let factor = 1u32 << attempt.saturating_sub(1).min(30);
        let wait = self.base.saturating_mul(factor);
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(365));
        NextStep::RetryAt(now + wait)
    }

    /// What follows an attempt with this outcome.
    pub fn next_step(&self, attempt: u32, outcome: &SendOutcome, now: DateTime<Utc>) -> NextStep {
        if outcome.delivered() {
            NextStep::Delivered
        } else {
            self.after_failure(attempt, now)
        }
    }
}

impl Webhook {
    /// Rebuilds a stored endpoint, as either store reads it.
    pub fn from_stored(
        id: i64,
        url: &str,
        subscription: Subscription,
        created_at: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        Ok(Webhook {
            id: corrupt(WebhookId::parse(id))?,
            url: corrupt(WebhookUrl::parse(url))?,
            subscription,
            created_at,
        })
    }
}

impl DeliveryLogEntry {
    /// Rebuilds a stored log entry, as either store reads it.
    pub fn from_stored(
        id: i64,
        event_id: String,
        event_type: &str,
        attempt: i32,
        status_code: Option<i32>,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        Ok(DeliveryLogEntry {
            id,
            event_id,
            event_type: corrupt(WebhookEventType::parse(event_type))?,
            attempt: u32::try_from(attempt).unwrap_or_default(),
            status_code: status_code.and_then(|c| u16::try_from(c).ok()),
            error,
            at,
        })
    }
}

/// A claimed delivery as either store reads it: the endpoint, the attempt, and the event's
/// row with the order as that event left it.
#[derive(Debug, Clone)]
pub struct StoredDelivery {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub secret: SealedSecret,
    pub attempt: i32,
    pub event_id: String,
    /// The event's kind as stored (`EventKind`'s name).
    pub kind: String,
    pub from: Option<OrderStatus>,
    pub actor: ActorKind,
    pub actor_id: Option<i64>,
    pub order: Order,
}

impl StoredDelivery {
    /// The delivery the workers send: the event's type follows from its kind, and it
    /// happened when the order took the state it carries.
    pub fn into_pending(self) -> Result<PendingDelivery, DomainError> {
        let event_kind = corrupt(EventKind::parse(&self.kind))?;
        let kind = WebhookEventType::of_event(event_kind).ok_or_else(|| {
            DomainError::internal(format!(
                "a delivery was recorded for a {event_kind} event, which no endpoint hears"
            ))
        })?;
        Ok(PendingDelivery {
            delivery_id: self.delivery_id,
            webhook_id: corrupt(WebhookId::parse(self.webhook_id))?,
            url: corrupt(WebhookUrl::parse(&self.url))?,
            secret: self.secret,
            attempt: u32::try_from(self.attempt).unwrap_or_default(),
            event: WebhookEvent {
                id: self.event_id,
                kind,
                created_at: self.order.updated_at,
                from: self.from,
                to: self.order.status,
                actor: self.actor,
                actor_id: self
                    .actor_id
                    .map(UserId::parse)
                    .transpose()
                    .map_err(DomainError::corrupt_row)?,
                order: self.order,
            },
        })
    }
}

/// The longest error text kept per attempt: enough to tell a refusal from a timeout.
pub const MAX_ERROR_LEN: usize = 300;

/// `text` cut to at most `MAX_ERROR_LEN` bytes on a character boundary.
pub fn clip_error(text: &str) -> String {
    if text.len() <= MAX_ERROR_LEN {
        return text.to_owned();
    }
    let mut end = MAX_ERROR_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn retries_double_from_the_base_until_the_last_attempt() {
        let policy = RetryPolicy {
            base: Duration::from_secs(10),
            max_attempts: 4,
        };
        let now = at(1_000);
        assert_eq!(policy.after_failure(1, now), NextStep::RetryAt(at(1_010)));
        assert_eq!(policy.after_failure(2, now), NextStep::RetryAt(at(1_020)));
        assert_eq!(policy.after_failure(3, now), NextStep::RetryAt(at(1_040)));
        assert_eq!(policy.after_failure(4, now), NextStep::GaveUp);
    }

    #[test]
    fn only_a_2xx_delivers() {
        let policy = RetryPolicy {
            base: Duration::from_secs(1),
            max_attempts: 8,
        };
        let answer = |code| SendOutcome {
            status_code: Some(code),
            error: None,
        };
        assert_eq!(
            policy.next_step(1, &answer(204), at(0)),
            NextStep::Delivered
        );
        for code in [301, 404, 500] {
            assert_eq!(
                policy.next_step(1, &answer(code), at(0)),
                NextStep::RetryAt(at(1))
            );
        }
        let timeout = SendOutcome {
            status_code: None,
            error: Some("timed out".into()),
        };
        assert_eq!(policy.next_step(8, &timeout, at(0)), NextStep::GaveUp);
    }

    #[test]
    fn a_huge_attempt_number_does_not_overflow() {
        let policy = RetryPolicy {
            base: Duration::from_secs(3600),
            max_attempts: u32::MAX,
        };
        assert!(matches!(
            policy.after_failure(1_000, at(0)),
            NextStep::RetryAt(_)
        ));
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        for good in [
            "https://hooks.example.com/trachios",
            "http://10.0.0.1:8080/x?y=1",
            "HTTPS://Example.com",
        ] {
            assert!(WebhookUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.com",
            "https://",
            "https:///path",
            "https://user:pw@example.com/",
            "example.com",
            "https://exa mple.com",
            "https://example.com/café",
            "javascript:alert(1)",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(WebhookUrl::parse(&long).is_err());
    }

    #[test]
    fn a_subscription_names_known_types_and_at_least_one() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Subscription::parse(&names(&["order.created"])).ok(),
            Some(Subscription {
                order_created: true,
                status_changed: false,
                order_updated: false,
            })
        );
        assert!(Subscription::parse(&names(&[])).is_err());
        assert!(Subscription::parse(&names(&["order.deleted"])).is_err());
    }

    #[test]
    fn errors_are_clipped_on_a_character_boundary() {
        let text = "é".repeat(400);
        let clipped = clip_error(&text);
        assert!(clipped.len() <= MAX_ERROR_LEN);
        assert!(text.starts_with(&clipped));
    }
}
