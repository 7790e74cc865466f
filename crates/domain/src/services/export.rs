use std::collections::HashMap;
use std::sync::Arc;

use crate::ports::{OrderRepository, UserRepository};
use crate::{Caller, DomainError, Email, ExportedOrder, OrderFilter, UserId, EXPORT_CHUNK};

/// Every order a filter keeps, for admins, read a chunk at a time.
#[derive(Clone)]
pub struct OrderExportService {
    orders: Arc<dyn OrderRepository>,
    users: Arc<dyn UserRepository>,
}

impl OrderExportService {
    pub fn new(orders: Arc<dyn OrderRepository>, users: Arc<dyn UserRepository>) -> Self {
        Self { orders, users }
    }

    /// Asked before the filters are read, so that a customer learns nothing about which
    /// would be accepted.
    pub fn ensure_may_export(&self, caller: Caller) -> Result<(), DomainError> {
        caller.ensure_admin()
    }

    /// An export of the orders `filter` keeps, newest first; nothing is read until its first
    /// chunk is asked for.
    pub fn start(&self, caller: Caller, filter: OrderFilter) -> Result<OrderExport, DomainError> {
        caller.ensure_admin()?;
        Ok(OrderExport {
            orders: self.orders.clone(),
            users: self.users.clone(),
            filter,
            before: None,
            finished: false,
            emails: HashMap::new(),
        })
    }
}

/// An export under way: each chunk is one read below the last order of the one before (a
/// keyset, so each read costs a chunk whatever the table's size, and none holds a
/// transaction open across chunks). An order created meanwhile is newer than the first
/// chunk and is not in it; one that changes meanwhile appears as the read of its chunk
/// found it.
pub struct OrderExport {
    orders: Arc<dyn OrderRepository>,
    users: Arc<dyn UserRepository>,
    filter: OrderFilter,
    before: Option<i64>,
    finished: bool,
    /// The e-mails read so far (`None`: no such account): customers come back chunk after
    /// chunk, and reading each chunk's again cost the store as much as the orders.
    emails: HashMap<UserId, Option<Email>>,
}

/// The most e-mails an export keeps between chunks; past it, it starts again from none.
const KNOWN_EMAILS: usize = 10_000;

impl OrderExport {
    /// The next chunk of at most `EXPORT_CHUNK` orders with their customers' e-mails;
    /// `None` once every order has been read.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<ExportedOrder>>, DomainError> {
        if self.finished {
            return Ok(None);
        }
        let orders = self
            .orders
            .list(&self.filter, self.before, EXPORT_CHUNK)
            .await?;
        self.finished = orders.len() < EXPORT_CHUNK;
        let Some(last) = orders.last() else {
            return Ok(None);
        };
        self.before = Some(last.id.get());
        let mut customers: Vec<UserId> = orders.iter().map(|o| o.customer_id).collect();
        customers.sort_unstable_by_key(|id| id.get());
        customers.dedup();
        if self.emails.len() + customers.len() > KNOWN_EMAILS {
            self.emails.clear();
        }
        let unknown: Vec<UserId> = customers
            .into_iter()
            .filter(|id| !self.emails.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            let found: HashMap<UserId, Email> =
                self.users.emails(&unknown).await?.into_iter().collect();
            for id in unknown {
                let email = found.get(&id).cloned();
                self.emails.insert(id, email);
            }
        }
        Ok(Some(
            orders
                .into_iter()
                .map(|order| ExportedOrder {
                    customer_email: self.emails.get(&order.customer_id).cloned().flatten(),
                    order,
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockOrderRepository, MockUserRepository};
    use crate::services::fixtures::{admin, customer, order, uid};
    use crate::OrderStatus;
    use mockall::predicate::eq;

    fn orders_from(first: i64, count: i64) -> Vec<crate::Order> {
        (0..count)
            .map(|i| order(first - i, 1 + (first - i) % 3, OrderStatus::Created, 1))
            .collect()
    }

    #[tokio::test]
    async fn chunks_follow_each_other_down_the_ids_until_a_short_one() {
        let full = EXPORT_CHUNK as i64;
        let mut orders = MockOrderRepository::new();
        orders
            .expect_list()
            .withf(|_, before, limit| before.is_none() && *limit == EXPORT_CHUNK)
            .times(1)
            .returning(move |_, _, _| Ok(orders_from(full + 5, full)));
        orders
            .expect_list()
            .withf(|_, before, _| *before == Some(6))
            .times(1)
            .returning(|_, _, _| Ok(orders_from(5, 5)));
        let mut users = MockUserRepository::new();
        // Customers 1–3 order in both chunks: their e-mails are read once.
        users.expect_emails().times(1).returning(|ids| {
            Ok(ids
                .iter()
                .filter(|id| id.get() != 2)
                .map(|id| (*id, Email::parse(&format!("u{}@x.io", id.get())).unwrap()))
                .collect())
        });
        let service = OrderExportService::new(Arc::new(orders), Arc::new(users));
        let mut export = service.start(admin(9), OrderFilter::default()).unwrap();
        let first = export.next_chunk().await.unwrap().unwrap();
        assert_eq!(first.len(), EXPORT_CHUNK);
        let second = export.next_chunk().await.unwrap().unwrap();
        let ids: Vec<i64> = second.iter().map(|o| o.order.id.get()).collect();
        assert_eq!(ids, [5, 4, 3, 2, 1]);
        for row in first.iter().chain(&second) {
            let expected = (row.order.customer_id != uid(2))
                .then(|| format!("u{}@x.io", row.order.customer_id.get()));
            assert_eq!(
                row.customer_email.as_ref().map(|e| e.as_str().to_owned()),
                expected
            );
        }
        assert_eq!(
            export.next_chunk().await.unwrap(),
            None,
            "no read after a short chunk"
        );
    }

    #[tokio::test]
    async fn an_export_that_ends_on_a_full_chunk_ends_with_an_empty_read() {
        let full = EXPORT_CHUNK as i64;
        let mut orders = MockOrderRepository::new();
        orders
            .expect_list()
            .with(eq(OrderFilter::default()), eq(None), eq(EXPORT_CHUNK))
            .returning(move |_, _, _| Ok(orders_from(full, full)));
        orders
            .expect_list()
            .with(eq(OrderFilter::default()), eq(Some(1)), eq(EXPORT_CHUNK))
            .returning(|_, _, _| Ok(Vec::new()));
        let mut users = MockUserRepository::new();
        users.expect_emails().times(1).returning(|_| Ok(Vec::new()));
        let service = OrderExportService::new(Arc::new(orders), Arc::new(users));
        let mut export = service.start(admin(9), OrderFilter::default()).unwrap();
        assert!(export.next_chunk().await.unwrap().is_some());
        assert_eq!(export.next_chunk().await.unwrap(), None);
        assert_eq!(export.next_chunk().await.unwrap(), None);
    }

    #[tokio::test]
    async fn customers_may_not_export_and_nothing_is_read() {
        let service = OrderExportService::new(
            Arc::new(MockOrderRepository::new()),
            Arc::new(MockUserRepository::new()),
        );
        assert!(matches!(
            service.ensure_may_export(customer(3)),
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.start(customer(3), OrderFilter::default()),
            Err(DomainError::Forbidden)
        ));
    }
}
