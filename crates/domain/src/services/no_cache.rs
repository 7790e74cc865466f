use async_trait::async_trait;

use crate::ports::OrderCache;
use crate::{
    CachedPage, DomainError, ListGeneration, Order, OrderId, PageSize, RenderedOrder, RenderedPage,
    UserId,
};

/// An order cache that holds nothing: every read is a miss.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCache;

#[async_trait]
impl OrderCache for NoCache {
    async fn get(&self, _id: OrderId) -> Result<Option<RenderedOrder>, DomainError> {
        Ok(None)
    }

    async fn put(&self, _order: &Order) -> Result<(), DomainError> {
        Ok(())
    }

    async fn replace(&self, _orders: &[Order]) -> Result<(), DomainError> {
        Ok(())
    }

    async fn settle(&self) {}

    async fn first_page(
        &self,
        _customer: UserId,
        _size: PageSize,
    ) -> Result<CachedPage, DomainError> {
        Ok(CachedPage::Bypass)
    }

    async fn put_first_page(
        &self,
        _customer: UserId,
        _size: PageSize,
        _generation: ListGeneration,
        _page: &RenderedPage,
    ) -> Result<(), DomainError> {
        Ok(())
    }
}
