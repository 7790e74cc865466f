use std::sync::Arc;

use chrono::Duration;

use super::telemetry;
use crate::ports::{Clock, OrderCache, OrderRepository};
use crate::{ActorKind, AdvancedOrder, DomainError, DueSteps, Order};

/// Moves due orders one step on. Holds nothing per order: what is due is read from the store.
#[derive(Clone)]
pub struct LifecycleService {
    orders: Arc<dyn OrderRepository>,
    cache: Arc<dyn OrderCache>,
    clock: Arc<dyn Clock>,
    step: Duration,
    batch_size: i64,
}

impl LifecycleService {
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        cache: Arc<dyn OrderCache>,
        clock: Arc<dyn Clock>,
        step: Duration,
        batch_size: i64,
    ) -> Self {
        Self {
            orders,
            cache,
            clock,
            step,
            batch_size,
        }
    }

    pub fn batch_size(&self) -> i64 {
        self.batch_size
    }

    /// Advances one batch of due orders; returns how many moved. A full batch means
    /// more may be waiting.
    pub async fn tick(&self) -> Result<usize, DomainError> {
        self.tick_orders().await.map(|moved| moved.len())
    }

    /// Like `tick`, returning the orders as they are after their step.
    pub async fn tick_orders(&self) -> Result<Vec<Order>, DomainError> {
        let due = DueSteps::at(self.clock.now(), self.step);
        let advanced = self.orders.advance_due(&due, self.batch_size).await?;
        if advanced.is_empty() {
            return Ok(Vec::new());
        }
        let mut moved = Vec::with_capacity(advanced.len());
        for AdvancedOrder { order, was_due_at } in advanced {
            tracing::info!(order_id = order.id.get(), to = %order.status, actor = "system", "order advanced");
            telemetry::order_transition(ActorKind::System, order.status);
            telemetry::lifecycle_lag(due.now - was_due_at);
            moved.push(order);
        }
        if let Err(err) = self.cache.replace(&moved).await {
            tracing::debug!(error = %err.chain(), "cache update after lifecycle step skipped");
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockOrderCache, MockOrderRepository};
    use crate::services::fixtures::{fixed_clock, order, T0};
    use crate::OrderStatus::*;

    const STEP: Duration = Duration::milliseconds(500);

    fn advanced(order: Order) -> AdvancedOrder {
        AdvancedOrder {
            order,
            was_due_at: T0,
        }
    }

    #[tokio::test]
    async fn a_tick_advances_what_is_due_now_and_refreshes_the_cache() {
        let mut repo = MockOrderRepository::new();
        repo.expect_advance_due()
            .withf(|due, limit| *due == DueSteps::at(T0, STEP) && *limit == 100)
            .returning(|_, _| {
                Ok(vec![
                    advanced(order(1, 7, Dispatched, 2)),
                    advanced(order(2, 7, Delivered, 4)),
                ])
            });
        let mut cache = MockOrderCache::new();
        cache
            .expect_replace()
            .withf(|o| o.len() == 2)
            .times(1)
            .returning(|_| Ok(()));
        let svc = LifecycleService::new(Arc::new(repo), Arc::new(cache), fixed_clock(), STEP, 100);
        assert_eq!(svc.tick().await.ok(), Some(2));
    }

    #[tokio::test]
    async fn an_idle_tick_touches_no_cache() {
        let mut repo = MockOrderRepository::new();
        repo.expect_advance_due().returning(|_, _| Ok(vec![]));
        let mut cache = MockOrderCache::new();
        cache.expect_replace().never();
        let svc = LifecycleService::new(Arc::new(repo), Arc::new(cache), fixed_clock(), STEP, 100);
        assert_eq!(svc.tick().await.ok(), Some(0));
    }

    #[tokio::test]
    async fn a_cache_failure_does_not_fail_the_tick() {
        let mut repo = MockOrderRepository::new();
        repo.expect_advance_due()
            .returning(|_, _| Ok(vec![advanced(order(1, 7, Dispatched, 2))]));
        let mut cache = MockOrderCache::new();
        cache
            .expect_replace()
            .returning(|_| Err(DomainError::unavailable("redis down")));
        let svc = LifecycleService::new(Arc::new(repo), Arc::new(cache), fixed_clock(), STEP, 100);
        assert_eq!(svc.tick().await.ok(), Some(1));
    }
}
