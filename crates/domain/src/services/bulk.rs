//! Bulk changes (`POST /orders/bulk`): each order changed as its single endpoint would,
//! a few at a time, and answered in the order the request named them.

use futures_util::{StreamExt, TryStreamExt};

use super::OrderService;
use crate::{
    BulkAction, BulkAnswer, BulkClaim, BulkItem, BulkKeyClaim, BulkRequest, Caller, DomainError,
    IdempotencyKey, RequestFingerprint, BULK_KEY_LEASE, IDEMPOTENCY_KEY_LIFETIME,
};

/// Orders of one bulk request changed at the same time: enough to keep the store busy
/// (each change is a few round trips), few enough that a bulk request leaves most of the
/// connection pool to the requests around it.
const BULK_CONCURRENCY: usize = 4;

impl OrderService {
    /// Only admins change orders in bulk; callers may ask before parsing the body.
    pub fn ensure_may_change_in_bulk(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_admin()
    }

    /// Changes each order of the request as its single endpoint would, each its own
    /// compare-and-set; a refused order is reported beside the others and changes nothing.
    /// A store failure stops the request: the orders changed before it stay changed.
    pub async fn bulk(
        &self,
        caller: Caller,
        request: &BulkRequest,
    ) -> Result<Vec<BulkItem>, DomainError> {
        caller.ensure_admin()?;
        let action = request.action();
        futures_util::stream::iter(request.ids().iter().copied())
            .map(|id| async move {
                let outcome = match action {
                    BulkAction::Cancel => self.cancel_as_admin(caller, id).await,
                    BulkAction::SetStatus(to) => self.set_status(caller, id, to).await,
                };
                match outcome {
                    Err(err) if !BulkItem::refuses(&err) => Err(err),
                    outcome => Ok(BulkItem { id, outcome }),
                }
            })
            .buffered(BULK_CONCURRENCY)
            .try_collect()
            .await
    }

    /// `bulk` under an idempotency key: the first request with the key runs and its
    /// answer (as `render` writes it) is kept; a repeat of it gets that answer and changes
    /// nothing; a repeat while it runs is told to wait; another request under the key is
    /// refused.
    pub async fn bulk_once(
        &self,
        caller: Caller,
        request: &BulkRequest,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
        render: impl FnOnce(Vec<BulkItem>) -> Result<String, DomainError>,
    ) -> Result<BulkAnswer, DomainError> {
        caller.ensure_admin()?;
        let now = self.clock.now();
        let claim = BulkClaim {
            key,
            fingerprint,
            claimed_at: now,
            lease_until: now + BULK_KEY_LEASE,
            expires_at: now + IDEMPOTENCY_KEY_LIFETIME,
        };
        match self.orders.claim_bulk_key(caller.user_id, &claim).await? {
            BulkKeyClaim::Claimed => {}
            BulkKeyClaim::Answered {
                fingerprint: first,
                response,
            } if first == fingerprint => return Ok(BulkAnswer::Replayed(response)),
            BulkKeyClaim::Running { fingerprint: first } if first == fingerprint => {
                return Err(DomainError::Conflict(
                    "a request with this Idempotency-Key is still being processed",
                ))
            }
            BulkKeyClaim::Answered { .. } | BulkKeyClaim::Running { .. } => {
                return Err(DomainError::KeyReused)
            }
        }
        let answer = match self.bulk(caller, request).await {
            Ok(items) => render(items),
            Err(err) => Err(err),
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                if let Err(release) = self.orders.release_bulk_key(caller.user_id, &claim).await {
                    tracing::warn!(error = %release.chain(), "bulk key not released; a repeat runs once its lease ends");
                }
                return Err(err);
            }
        };
        // The changes are made: the client gets their answer even if it cannot be kept.
        if let Err(err) = self
            .orders
            .keep_bulk_answer(caller.user_id, &claim, &answer)
            .await
        {
            tracing::warn!(error = %err.chain(), "bulk answer not kept; a repeat after the key's lease runs the request again");
        }
        Ok(BulkAnswer::Ran(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockOrderRepository;
    use crate::services::fixtures::{admin, customer, order, order_service, quiet_cache, T0};
    use crate::{Order, OrderStatus};
    use OrderStatus::*;

    fn service(repo: MockOrderRepository) -> OrderService {
        order_service(repo, quiet_cache())
    }

    /// A store of orders 1 (created), 2 (delivered) and 3 (in transit), in which every
    /// change lands; order 3 fails with the store down when `down` says so.
    fn store(down: bool) -> MockOrderRepository {
        let mut repo = MockOrderRepository::new();
        repo.expect_find_by_id()
            .returning(move |id| match id.get() {
                1 => Ok(Some(order(1, 7, Created, 1))),
                2 => Ok(Some(order(2, 7, Delivered, 4))),
                3 if down => Err(DomainError::unavailable("connection refused")),
                3 => Ok(Some(order(3, 8, InTransit, 3))),
                _ => Ok(None),
            });
        repo.expect_transition().returning(|change| {
            let mut changed: Order = order(change.order_id.get(), 7, change.to, change.new_version);
            changed.updated_at = change.at;
            Ok(Some(changed))
        });
        repo
    }

    fn request(ids: &[i64], action: BulkAction) -> BulkRequest {
        BulkRequest::new(ids, action).unwrap()
    }

    fn summary(items: &[BulkItem]) -> Vec<(i64, Result<OrderStatus, String>)> {
        items
            .iter()
            .map(|item| {
                let outcome = match &item.outcome {
                    Ok(order) => Ok(order.status),
                    Err(err) => Err(err.to_string()),
                };
                (item.id.get(), outcome)
            })
            .collect()
    }

    #[tokio::test]
    async fn each_order_gets_its_own_answer_in_the_order_asked() {
        let items = service(store(false))
            .bulk(admin(1), &request(&[3, 2, 9, 1], BulkAction::Cancel))
            .await
            .unwrap();
        assert_eq!(
            summary(&items),
            vec![
                (3, Ok(Cancelled)),
                (
                    2,
                    Err("cannot change order status from delivered to cancelled".into())
                ),
                (9, Err("order not found".into())),
                (1, Ok(Cancelled)),
            ]
        );
    }

    #[tokio::test]
    async fn setting_the_status_an_order_has_changes_nothing_and_succeeds() {
        let mut repo = store(false);
        repo.checkpoint();
        repo.expect_find_by_id()
            .returning(|id| Ok(Some(order(id.get(), 7, Dispatched, 2))));
        repo.expect_transition().never();
        let items = service(repo)
            .bulk(
                admin(1),
                &request(&[1, 2], BulkAction::SetStatus(Dispatched)),
            )
            .await
            .unwrap();
        assert_eq!(
            summary(&items),
            vec![(1, Ok(Dispatched)), (2, Ok(Dispatched))]
        );
    }

    #[tokio::test]
    async fn customers_change_nothing_in_bulk() {
        let mut repo = MockOrderRepository::new();
        repo.expect_find_by_id().never();
        repo.expect_claim_bulk_key().never();
        let service = service(repo);
        let bulk = request(&[1], BulkAction::Cancel);
        assert!(matches!(
            service.bulk(customer(7), &bulk).await,
            Err(DomainError::Forbidden)
        ));
        let key = IdempotencyKey::parse("k").unwrap();
        assert!(matches!(
            service
                .bulk_once(
                    customer(7),
                    &bulk,
                    key,
                    RequestFingerprint([1; 32]),
                    |_| Ok(String::new())
                )
                .await,
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn a_store_failure_stops_the_request() {
        let outcome = service(store(true))
            .bulk(admin(1), &request(&[1, 3], BulkAction::Cancel))
            .await;
        assert!(matches!(outcome, Err(DomainError::Unavailable(_))));
    }

    fn keyed(claim: BulkKeyClaim) -> MockOrderRepository {
        let mut repo = store(false);
        repo.expect_claim_bulk_key()
            .returning(move |_, _| Ok(claim.clone()));
        repo
    }

    async fn run_keyed(repo: MockOrderRepository, ids: &[i64]) -> Result<BulkAnswer, DomainError> {
        service(repo)
            .bulk_once(
                admin(1),
                &request(ids, BulkAction::Cancel),
                IdempotencyKey::parse("k").unwrap(),
                RequestFingerprint([1; 32]),
                |items| Ok(format!("{} results", items.len())),
            )
            .await
    }

    #[tokio::test]
    async fn a_claimed_key_runs_the_request_and_keeps_its_answer() {
        let mut repo = keyed(BulkKeyClaim::Claimed);
        repo.expect_keep_bulk_answer()
            .withf(|user, claim, answer| {
                user.get() == 1
                    && answer == "2 results"
                    && claim.claimed_at == T0
                    && claim.lease_until == T0 + BULK_KEY_LEASE
                    && claim.expires_at == T0 + IDEMPOTENCY_KEY_LIFETIME
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        assert_eq!(
            run_keyed(repo, &[1, 2]).await.unwrap(),
            BulkAnswer::Ran("2 results".into())
        );
    }

    #[tokio::test]
    async fn a_repeat_gets_the_kept_answer_and_changes_nothing() {
        let mut repo = keyed(BulkKeyClaim::Answered {
            fingerprint: RequestFingerprint([1; 32]),
            response: "kept".into(),
        });
        repo.checkpoint();
        repo.expect_claim_bulk_key().returning(|_, _| {
            Ok(BulkKeyClaim::Answered {
                fingerprint: RequestFingerprint([1; 32]),
                response: "kept".into(),
            })
        });
        repo.expect_find_by_id().never();
        repo.expect_transition().never();
        assert_eq!(
            run_keyed(repo, &[1]).await.unwrap(),
            BulkAnswer::Replayed("kept".into())
        );
    }

    #[tokio::test]
    async fn a_running_or_reused_key_is_refused() {
        let running = keyed(BulkKeyClaim::Running {
            fingerprint: RequestFingerprint([1; 32]),
        });
        assert!(matches!(
            run_keyed(running, &[1]).await,
            Err(DomainError::Conflict(_))
        ));
        for other in [
            BulkKeyClaim::Running {
                fingerprint: RequestFingerprint([2; 32]),
            },
            BulkKeyClaim::Answered {
                fingerprint: RequestFingerprint([2; 32]),
                response: "kept".into(),
            },
        ] {
            assert!(matches!(
                run_keyed(keyed(other), &[1]).await,
                Err(DomainError::KeyReused)
            ));
        }
    }

    #[tokio::test]
    async fn a_request_stopped_by_the_store_frees_its_key() {
        let mut repo = store(true);
        repo.expect_claim_bulk_key()
            .returning(|_, _| Ok(BulkKeyClaim::Claimed));
        repo.expect_release_bulk_key()
            .times(1)
            .returning(|_, _| Ok(()));
        repo.expect_keep_bulk_answer().never();
        assert!(matches!(
            run_keyed(repo, &[1, 3]).await,
            Err(DomainError::Unavailable(_))
        ));
    }
}
