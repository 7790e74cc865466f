use async_trait::async_trait;

use crate::ports::OrderCache;
use crate::{DomainError, Order, OrderId};

/// An order cache that holds nothing: every read is a miss.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCache;

#[async_trait]
impl OrderCache for NoCache {
    async fn get(&self, _id: OrderId) -> Result<Option<Order>, DomainError> {
        Ok(None)
    }

    async fn put(&self, _order: &Order) -> Result<(), DomainError> {
        Ok(())
    }

    async fn replace(&self, _orders: &[Order]) -> Result<(), DomainError> {
        Ok(())
    }
}
