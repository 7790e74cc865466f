use std::sync::Arc;

use crate::money::{price, price_in_range};
use crate::ports::{Clock, ProductRepository};
use crate::{
    ActiveFilter, Actor, Caller, Currency, DomainError, NewProduct, Page, PageRequest, Product,
    ProductChanges, ProductDescription, ProductFilter, ProductId, ProductName, Sku, Stock,
    StockAdjustment, StockMovement,
};

/// A product as an admin asks for it; the currency defaults to the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDraft {
    pub sku: Sku,
    pub name: ProductName,
    pub description: ProductDescription,
    pub price: i64,
    pub currency: Option<Currency>,
    pub stock: Stock,
}

/// The catalog: anyone reads active products; admins manage products and stock.
#[derive(Clone)]
pub struct CatalogService {
    products: Arc<dyn ProductRepository>,
    clock: Arc<dyn Clock>,
    currency: Currency,
}

fn actor(caller: Caller) -> Actor {
    Actor::Admin(caller.user_id)
}

impl CatalogService {
    /// `currency` is the one a product gets when none is named (`CURRENCY`).
    pub fn new(
        products: Arc<dyn ProductRepository>,
        clock: Arc<dyn Clock>,
        currency: Currency,
    ) -> Self {
        Self {
            products,
            clock,
            currency,
        }
    }

    /// Only admins manage the catalog; asked before a request is parsed, so that anyone
    /// else learns nothing about which values would be accepted.
    pub fn ensure_may_manage(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_admin()
    }

    fn sees_inactive(caller: Option<Caller>) -> bool {
        caller.is_some_and(Caller::is_admin)
    }

    /// One page of the catalog, newest first. Only admins list inactive products.
    pub async fn list(
        &self,
        caller: Option<Caller>,
        filter: ProductFilter,
        page: PageRequest,
    ) -> Result<Page<Product>, DomainError> {
        if filter.active != ActiveFilter::Active && !Self::sees_inactive(caller) {
            return Err(DomainError::Forbidden);
        }
        let rows = self
            .products
            .list(&filter, page.before, page.size.fetch_limit())
            .await?;
        Ok(Page::from_overfetch(rows, page.size, |p| p.id.get()))
    }

    /// A product; an inactive one exists only for admins.
    pub async fn get(&self, caller: Option<Caller>, id: ProductId) -> Result<Product, DomainError> {
        self.products
            .find(id)
            .await?
            .filter(|p| p.active || Self::sees_inactive(caller))
            .ok_or(DomainError::NotFound("product"))
    }

    pub async fn create(
        &self,
        caller: Caller,
        draft: ProductDraft,
    ) -> Result<Product, DomainError> {
        caller.ensure_admin()?;
        let new = NewProduct {
            price: price(draft.price, draft.currency.unwrap_or(self.currency))?,
            sku: draft.sku,
            name: draft.name,
            description: draft.description,
            stock: draft.stock,
            created_at: self.clock.now(),
        };
        let product = self
            .products
            .insert(new, actor(caller))
            .await?
            .ok_or(DomainError::SkuTaken)?;
        tracing::info!(
            product_id = product.id.get(),
            by = caller.user_id.get(),
            "product created"
        );
        Ok(product)
    }

    /// Changes name, description, price or whether it is sold; a price change affects
    /// only orders placed after it.
    pub async fn update(
        &self,
        caller: Caller,
        id: ProductId,
        changes: ProductChanges,
    ) -> Result<Product, DomainError> {
        caller.ensure_admin()?;
        if let Some(minor) = changes.price {
            price_in_range(minor)?;
        }
        self.products
            .update(id, &changes, self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("product"))
    }

    pub async fn adjust_stock(
        &self,
        caller: Caller,
        id: ProductId,
        adjustment: StockAdjustment,
    ) -> Result<Product, DomainError> {
        caller.ensure_admin()?;
        self.products
            .adjust_stock(id, &adjustment, actor(caller), self.clock.now())
            .await?
            .ok_or(DomainError::NotFound("product"))
    }

    /// One page of the product's stock ledger, newest first.
    pub async fn movements(
        &self,
        caller: Caller,
        id: ProductId,
        page: PageRequest,
    ) -> Result<Page<StockMovement>, DomainError> {
        caller.ensure_admin()?;
        let rows = self
            .products
            .movements(id, page.before, page.size.fetch_limit())
            .await?
            .ok_or(DomainError::NotFound("product"))?;
        Ok(Page::from_overfetch(rows, page.size, |m| m.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockProductRepository;
    use crate::services::fixtures::{admin, customer, fixed_clock, T0};
    use crate::Money;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn mug(active: bool) -> Product {
        Product {
            id: ProductId::parse(3).unwrap(),
            sku: Sku::parse("MUG-01").unwrap(),
            name: ProductName::parse("Enamel mug").unwrap(),
            description: ProductDescription::default(),
            price: Money::new(1250, eur()),
            stock: Stock::parse(40).unwrap(),
            active,
            created_at: T0,
            updated_at: T0,
        }
    }

    fn service(repo: MockProductRepository) -> CatalogService {
        CatalogService::new(Arc::new(repo), fixed_clock(), eur())
    }

    #[tokio::test]
    async fn an_inactive_product_exists_only_for_admins() {
        let mut repo = MockProductRepository::new();
        repo.expect_find().returning(|_| Ok(Some(mug(false))));
        let svc = service(repo);
        let id = ProductId::parse(3).unwrap();
        for caller in [None, Some(customer(2))] {
            assert!(matches!(
                svc.get(caller, id).await,
                Err(DomainError::NotFound("product"))
            ));
        }
        assert!(svc.get(Some(admin(1)), id).await.is_ok());
        let inactive = ProductFilter {
            active: ActiveFilter::Any,
            q: None,
        };
        assert!(matches!(
            svc.list(None, inactive, PageRequest::default()).await,
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn only_admins_create_and_a_new_product_gets_the_servers_currency() {
        let mut repo = MockProductRepository::new();
        repo.expect_insert()
            .withf(|new, actor| {
                new.price == Money::new(1250, Currency::parse("EUR").unwrap())
                    && new.created_at == T0
                    && *actor == Actor::Admin(crate::UserId::parse(1).unwrap())
            })
            .times(1)
            .returning(|_, _| Ok(None));
        let svc = service(repo);
        let draft = ProductDraft {
            sku: Sku::parse("MUG-01").unwrap(),
            name: ProductName::parse("Enamel mug").unwrap(),
            description: ProductDescription::default(),
            price: 1250,
            currency: None,
            stock: Stock::parse(0).unwrap(),
        };
        assert!(matches!(
            svc.create(customer(2), draft.clone()).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            svc.create(admin(1), draft).await,
            Err(DomainError::SkuTaken)
        ));
    }
}
