//! The webhook outbox: every committed order event is recorded for each subscribed
//! endpoint, claimed one attempt at a time, in order per order and endpoint.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use trachios_domain::ports::WebhookRepository;
use trachios_domain::{
    Actor, AttemptRecord, Caller, DueSteps, EventKind, NewWebhook, NextStep, Order, OrderEdit,
    OrderNote, OrderStatus, PendingDelivery, Role, SealedSecret, StatusChange, Subscription,
    UserId, Webhook, WebhookEventType, WebhookId, WebhookUrl,
};

use crate::{customer, new_order, Ports};

fn new_webhook(subscription: Subscription) -> NewWebhook {
    NewWebhook {
        url: WebhookUrl::parse("https://hooks.example.com/in").expect("valid url"),
        subscription,
        secret: SealedSecret::new("secret"),
        created_at: Utc::now(),
    }
}

async fn endpoint(webhooks: &dyn WebhookRepository, subscription: Subscription) -> Webhook {
    webhooks
        .insert(new_webhook(subscription), 10)
        .await
        .expect("webhook stored")
        .expect("below the bound")
}

/// Stores an order of `customer` due to move `due_in` from now.
async fn place(ports: &Ports, customer: UserId, due_in: Duration) -> Order {
    ports
        .orders
        .insert(new_order(customer, due_in))
        .await
        .expect("order stored")
}

/// Moves every order due at `now` one step, as the lifecycle does.
async fn advance(ports: &Ports, now: DateTime<Utc>) -> usize {
    ports
        .orders
        .advance_due(&DueSteps::at(now, Duration::seconds(30)), 100)
        .await
        .expect("lifecycle batch")
        .len()
}

/// Claims what is due now (leased for a minute).
async fn claim(webhooks: &dyn WebhookRepository, now: DateTime<Utc>) -> Vec<PendingDelivery> {
    webhooks
        .claim_due(now, now + Duration::minutes(1), 100)
        .await
        .expect("claim")
}

fn outcome(delivery: &PendingDelivery, next: NextStep, at: DateTime<Utc>) -> AttemptRecord {
    AttemptRecord {
        delivery_id: delivery.delivery_id,
        webhook_id: delivery.webhook_id,
        event_type: delivery.event.kind,
        attempt: delivery.attempt,
        status_code: Some(if next == NextStep::Delivered {
            200
        } else {
            500
        }),
        error: None,
        at,
        next,
    }
}

pub async fn every_change_is_delivered_in_order_once_per_endpoint(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let before = place(&ports, a, Duration::seconds(-1)).await;
    let hook = endpoint(webhooks, Subscription::DEFAULT).await;
    let placed = place(&ports, a, Duration::seconds(-1)).await;
    let now = Utc::now() + Duration::seconds(1);
    // A lifecycle batch moves both orders; only changes after the endpoint exist for it.
    let moved = ports
        .orders
        .advance_due(&DueSteps::at(now, Duration::seconds(-1)), 100)
        .await
        .unwrap();
    assert_eq!(moved.len(), 2);
    let current = ports.orders.find_by_id(placed.id).await.unwrap().unwrap();
    let cancel = StatusChange {
        order_id: placed.id,
        expected_version: current.version,
        new_version: current.version + 1,
        from: current.status,
        to: OrderStatus::Cancelled,
        actor: Actor::Customer(a),
        at: now,
        next_step_at: None,
        stock: None,
    };
    ports.orders.transition(cancel).await.unwrap().unwrap();

    let mut seen = Vec::new();
    let mut ids = HashSet::new();
    for _ in 0..5 {
        let batch = claim(webhooks, now + Duration::seconds(1)).await;
        assert!(batch.len() <= 2, "one event per order at a time: {batch:?}");
        let records: Vec<_> = batch
            .iter()
            .map(|d| outcome(d, NextStep::Delivered, now))
            .collect();
        for d in &batch {
            assert_eq!(d.webhook_id, hook.id);
            assert_eq!(d.attempt, 1);
            assert_eq!(d.secret.as_stored(), "secret");
            assert!(ids.insert(d.event.id.clone()), "event ids are unique");
            seen.push((d.event.order.id, d.event.kind, d.event.from, d.event.to));
        }
        webhooks.record(records).await.unwrap();
    }
    let for_placed: Vec<_> = seen
        .iter()
        .filter(|(id, ..)| *id == placed.id)
        .map(|(_, kind, from, to)| (*kind, *from, *to))
        .collect();
    assert_eq!(
        for_placed,
        vec![
            (WebhookEventType::OrderCreated, None, OrderStatus::Created),
            (
                WebhookEventType::StatusChanged,
                Some(OrderStatus::Created),
                OrderStatus::Dispatched
            ),
            (
                WebhookEventType::StatusChanged,
                Some(OrderStatus::Dispatched),
                OrderStatus::Cancelled
            ),
        ]
    );
    let for_before: Vec<_> = seen.iter().filter(|(id, ..)| *id == before.id).collect();
    assert_eq!(for_before.len(), 1, "only the move made after subscribing");
    assert!(claim(webhooks, now + Duration::hours(1)).await.is_empty());
}

pub async fn an_event_carries_the_order_as_its_change_left_it(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    endpoint(webhooks, Subscription::DEFAULT).await;
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let placed = place(&ports, a, Duration::seconds(-1)).await;
    let now = Utc::now() + Duration::seconds(1);
    advance(&ports, now).await;
    let created = claim(webhooks, now).await;
    assert_eq!(created.len(), 1);
    let event = &created[0].event;
    assert_eq!(
        event.order, placed,
        "the order as it was created, not as it is now"
    );
    assert_eq!(event.actor, trachios_domain::ActorKind::Customer);
    assert_eq!(event.actor_id, Some(a));
    assert_eq!(event.created_at, placed.created_at);
    webhooks
        .record(vec![outcome(&created[0], NextStep::Delivered, now)])
        .await
        .unwrap();
    let moved = claim(webhooks, now).await;
    assert_eq!(moved.len(), 1);
    let event = &moved[0].event;
    assert_eq!(event.order.status, OrderStatus::Dispatched);
    assert_eq!(event.order.version, 2);
    assert_eq!(event.actor, trachios_domain::ActorKind::System);
    assert_eq!(event.actor_id, None);
}

/// The stores decide in SQL (the outbox trigger) which endpoint hears which change; the
/// domain says it once (`WebhookEventType::of_event`, `Subscription::hears`), and this
/// holds every store to it, for every subscription and every kind of change.
pub async fn a_subscription_records_only_its_event_types(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    let mut endpoints = Vec::new();
    for bits in 1u8..8 {
        let subscription = Subscription {
            order_created: bits & 1 != 0,
            status_changed: bits & 2 != 0,
            order_updated: bits & 4 != 0,
        };
        endpoints.push((endpoint(webhooks, subscription).await.id, subscription));
    }
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let placed = place(&ports, a, Duration::seconds(-1)).await;
    let note = OrderNote::parse("Leave it with the porter").expect("a note");
    let edit = OrderEdit::new(None, None, Some(note)).expect("an edit");
    let owner = Caller {
        user_id: a,
        role: Role::Customer,
    };
    let pending = placed.edit(owner, edit, Utc::now()).expect("editable");
    ports
        .orders
        .edit(pending)
        .await
        .expect("edit stored")
        .expect("not raced");
    let now = Utc::now() + Duration::seconds(1);
    advance(&ports, now).await;
    let changes = [
        EventKind::Created,
        EventKind::Edited,
        EventKind::StatusChanged,
    ];

    // Only an order's oldest undelivered event is due per endpoint: deliver and claim again.
    let mut heard: HashMap<WebhookId, Vec<WebhookEventType>> = HashMap::new();
    for _ in 0..changes.len() + 1 {
        let due = claim(webhooks, now).await;
        for delivery in &due {
            heard
                .entry(delivery.webhook_id)
                .or_default()
                .push(delivery.event.kind);
        }
        let records = due
            .iter()
            .map(|d| outcome(d, NextStep::Delivered, now))
            .collect();
        webhooks.record(records).await.expect("recorded");
    }
    for (id, subscription) in endpoints {
        let expected: Vec<WebhookEventType> = changes
            .iter()
            .filter_map(|&kind| WebhookEventType::of_event(kind))
            .filter(|t| subscription.hears(*t))
            .collect();
        assert_eq!(
            heard.remove(&id).unwrap_or_default(),
            expected,
            "{subscription:?}"
        );
    }
}

/// Deliveries claimed after later edits still carry the order as their own change left it:
/// every attempt of an event sends the same order.
pub async fn an_event_claimed_after_later_edits_carries_the_contents_it_left(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    endpoint(
        webhooks,
        Subscription {
            order_created: true,
            status_changed: true,
            order_updated: true,
        },
    )
    .await;
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    let owner = Caller {
        user_id: a,
        role: Role::Customer,
    };
    let mut order = place(&ports, a, Duration::minutes(5)).await;
    let notes = ["first", "second", "third"];
    for note in notes {
        let note = OrderNote::parse(note).expect("a note");
        let edit = OrderEdit::new(None, None, Some(note)).expect("an edit");
        order = ports
            .orders
            .edit(order.edit(owner, edit, Utc::now()).expect("editable"))
            .await
            .expect("edit stored")
            .expect("not raced");
    }
    let now = Utc::now() + Duration::seconds(1);
    let mut seen = Vec::new();
    for _ in 0..=notes.len() {
        let due = claim(webhooks, now).await;
        assert_eq!(due.len(), 1, "one event of the order at a time");
        let sent = &due[0].event.order;
        seen.push((
            sent.version,
            sent.details.note.as_ref().map(|n| n.as_str().to_owned()),
        ));
        // The lease runs out unanswered: the next attempt sends the same order.
        let again = claim(webhooks, now + Duration::minutes(2)).await;
        assert_eq!(again.len(), 1);
        assert_eq!(&again[0].event.order, sent, "every attempt sends one order");
        let records = again
            .iter()
            .map(|d| outcome(d, NextStep::Delivered, now))
            .collect();
        webhooks.record(records).await.expect("recorded");
    }
    assert_eq!(
        seen,
        [
            (1, None),
            (2, Some("first".to_owned())),
            (3, Some("second".to_owned())),
            (4, Some("third".to_owned())),
        ]
    );
}

pub async fn a_failed_attempt_is_retried_later_and_blocks_the_orders_next_event(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    let hook = endpoint(webhooks, Subscription::DEFAULT).await;
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    place(&ports, a, Duration::seconds(-1)).await;
    let now = Utc::now() + Duration::seconds(1);
    advance(&ports, now).await;
    let first = claim(webhooks, now).await;
    assert_eq!(first.len(), 1);
    assert!(
        claim(webhooks, now + Duration::seconds(30))
            .await
            .is_empty(),
        "a leased delivery is nobody else's, and the order's next event waits for it"
    );
    let retry_at = now + Duration::minutes(5);
    webhooks
        .record(vec![outcome(&first[0], NextStep::RetryAt(retry_at), now)])
        .await
        .unwrap();
    assert!(claim(webhooks, retry_at - Duration::seconds(1))
        .await
        .is_empty());
    let second = claim(webhooks, retry_at).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].delivery_id, first[0].delivery_id);
    assert_eq!(second[0].attempt, 2);
    assert_eq!(
        second[0].event, first[0].event,
        "the same event, id and all"
    );
    webhooks
        .record(vec![outcome(&second[0], NextStep::GaveUp, retry_at)])
        .await
        .unwrap();
    let next = claim(webhooks, retry_at).await;
    assert_eq!(next.len(), 1, "given up, the order's next event goes");
    assert_eq!(next[0].event.kind, WebhookEventType::StatusChanged);

    let log = webhooks.attempts(hook.id, None, 10).await.unwrap().unwrap();
    let attempts: Vec<_> = log.iter().map(|e| (e.attempt, e.status_code)).collect();
    assert_eq!(
        attempts,
        vec![(2, Some(500)), (1, Some(500))],
        "newest first"
    );
    assert!(log.iter().all(|e| e.event_id == first[0].event.id));
    let older = webhooks
        .attempts(hook.id, Some(log[0].id), 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(older.len(), 1);
}

pub async fn a_lease_that_ran_out_is_claimed_again_and_the_late_outcome_is_ignored(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    let hook = endpoint(webhooks, Subscription::DEFAULT).await;
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    place(&ports, a, Duration::seconds(60)).await;
    let now = Utc::now() + Duration::seconds(1);
    let first = claim(webhooks, now).await;
    // The worker died: after its lease another one makes attempt 2.
    let second = claim(webhooks, now + Duration::minutes(2)).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempt, 2);
    webhooks
        .record(vec![outcome(
            &second[0],
            NextStep::RetryAt(now + Duration::hours(1)),
            now,
        )])
        .await
        .unwrap();
    // The first worker's late success does not end a delivery that attempt 2 owns.
    webhooks
        .record(vec![outcome(&first[0], NextStep::Delivered, now)])
        .await
        .unwrap();
    let third = claim(webhooks, now + Duration::hours(1)).await;
    assert_eq!(third.len(), 1, "still pending after the stale outcome");
    assert_eq!(third[0].attempt, 3);
    assert_eq!(
        webhooks
            .attempts(hook.id, None, 10)
            .await
            .unwrap()
            .map(|l| l.len()),
        Some(2),
        "both attempts are in the log"
    );
}

pub async fn concurrent_workers_never_claim_the_same_attempt(ports: Ports) {
    let webhooks = ports.webhooks.clone();
    endpoint(webhooks.as_ref(), Subscription::DEFAULT).await;
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    for _ in 0..200 {
        place(&ports, a, Duration::seconds(60)).await;
    }
    let now = Utc::now() + Duration::seconds(1);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let webhooks: Arc<dyn WebhookRepository> = webhooks.clone();
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                loop {
                    let batch = webhooks
                        .claim_due(now, now + Duration::minutes(1), 7)
                        .await
                        .expect("claim");
                    if batch.is_empty() {
                        break claimed;
                    }
                    claimed.extend(batch.into_iter().map(|d| (d.delivery_id, d.attempt)));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 200);
    assert_eq!(distinct.len(), 200, "no attempt was claimed twice");
}

pub async fn deleting_an_endpoint_drops_its_deliveries_and_the_bound_holds(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    let hook = endpoint(webhooks, Subscription::DEFAULT).await;
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    place(&ports, a, Duration::seconds(60)).await;
    assert_eq!(webhooks.list().await.unwrap(), vec![hook.clone()]);
    assert!(webhooks.delete(hook.id).await.unwrap());
    assert!(!webhooks.delete(hook.id).await.unwrap(), "gone already");
    assert!(webhooks
        .attempts(hook.id, None, 10)
        .await
        .unwrap()
        .is_none());
    assert!(claim(webhooks, Utc::now() + Duration::seconds(1))
        .await
        .is_empty());
    assert!(webhooks.list().await.unwrap().is_empty());

    for stored in [true, true, false] {
        let inserted = webhooks
            .insert(new_webhook(Subscription::DEFAULT), 2)
            .await
            .unwrap();
        assert_eq!(
            inserted.is_some(),
            stored,
            "two fit, the third is past the bound"
        );
    }
}

pub async fn finished_deliveries_and_old_attempts_are_purged(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    let hook = endpoint(webhooks, Subscription::DEFAULT).await;
    let a = customer(ports.users.as_ref(), "a@x.io").await;
    for _ in 0..3 {
        place(&ports, a, Duration::seconds(60)).await;
    }
    let now = Utc::now() + Duration::seconds(1);
    let due = claim(webhooks, now).await;
    assert_eq!(due.len(), 3);
    // Two delivered, one still to retry.
    let records = vec![
        outcome(&due[0], NextStep::Delivered, now),
        outcome(&due[1], NextStep::GaveUp, now),
        outcome(&due[2], NextStep::RetryAt(now + Duration::days(30)), now),
    ];
    webhooks.record(records).await.unwrap();
    assert_eq!(
        webhooks.purge_finished(now, 100).await.unwrap(),
        0,
        "nothing finished before the cut-off"
    );
    let purged = webhooks
        .purge_finished(now + Duration::seconds(1), 100)
        .await
        .unwrap();
    // Two deliveries, their two events, three log entries.
    assert_eq!(purged, 7);
    assert!(webhooks
        .attempts(hook.id, None, 10)
        .await
        .unwrap()
        .is_some_and(|l| l.is_empty()));
    let retried = claim(webhooks, now + Duration::days(30)).await;
    assert_eq!(retried.len(), 1, "a pending delivery is never purged");
    assert_eq!(retried[0].delivery_id, due[2].delivery_id);
}

pub async fn a_stored_key_is_replaced_only_while_it_is_still_the_one_stored(ports: Ports) {
    let webhooks = ports.webhooks.as_ref();
    let first = endpoint(webhooks, Subscription::DEFAULT).await;
    let second = endpoint(webhooks, Subscription::DEFAULT).await;
    let stored = |n: &str| SealedSecret::new(n);
    assert_eq!(
        webhooks.sealed_secrets().await.expect("keys"),
        vec![(first.id, stored("secret")), (second.id, stored("secret"))]
    );
    assert!(webhooks
        .replace_secret(first.id, &stored("secret"), &stored("sealed-1"))
        .await
        .expect("replace"));
    // A second process that read the same key loses: the first one's key stays.
    assert!(!webhooks
        .replace_secret(first.id, &stored("secret"), &stored("sealed-2"))
        .await
        .expect("replace"));
    assert_eq!(
        webhooks.sealed_secrets().await.expect("keys"),
        vec![
            (first.id, stored("sealed-1")),
            (second.id, stored("secret"))
        ]
    );
    // Deliveries carry the key as stored now.
    let a = customer(ports.users.as_ref(), "k@x.io").await;
    place(&ports, a, Duration::hours(1)).await;
    let claimed = claim(webhooks, Utc::now()).await;
    let keys: HashSet<(WebhookId, String)> = claimed
        .iter()
        .map(|d| (d.webhook_id, d.secret.as_stored().to_owned()))
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            (first.id, "sealed-1".to_owned()),
            (second.id, "secret".to_owned())
        ])
    );
}
