//! Paginated, filtered lists: what a page is and which items a filter keeps.
//!
//! Pages are keyset pages over descending ids: a page asks for the items older than the
//! last one a client saw, so following pages yields every item once, newest first, also
//! while new items arrive (they land before the first page, never inside a later one).

use chrono::{DateTime, Utc};

use crate::{DomainError, Email, OrderSearch, OrderStatus, Role, UserId};

/// How many items one page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(usize);

impl PageSize {
    pub const MAX: usize = 1000;
    pub const DEFAULT: PageSize = PageSize(100);

    pub fn new(size: usize) -> Result<Self, DomainError> {
        if (1..=Self::MAX).contains(&size) {
            Ok(Self(size))
        } else {
            Err(DomainError::Validation(format!(
                "limit must be between 1 and {}",
                Self::MAX
            )))
        }
    }

    pub fn get(self) -> usize {
        self.0
    }

    /// How many rows a store fetches for a page of this size: one more, which tells
    /// whether another page follows without a second query to count.
    pub fn fetch_limit(self) -> usize {
        self.0 + 1
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which page: `size` items with ids below `before` (from the newest when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageRequest {
    pub size: PageSize,
    pub before: Option<i64>,
}

/// One page of a list, and where the next one starts when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The id the next page starts below; `None` on the last page.
    pub next_before: Option<i64>,
}

impl<T> Page<T> {
    /// Turns what a store fetched (`PageSize::fetch_limit` rows at most) into the page and
    /// where the next one starts.
    pub fn from_overfetch(mut items: Vec<T>, size: PageSize, id_of: impl Fn(&T) -> i64) -> Self {
        let more = items.len() > size.get();
        items.truncate(size.get());
        let next_before = if more { items.last().map(id_of) } else { None };
        Self { items, next_before }
    }
}

/// Which orders a list keeps; every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderFilter {
    /// Any of these statuses; empty means any status.
    pub statuses: Vec<OrderStatus>,
    /// Created strictly after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before this instant.
    pub created_before: Option<DateTime<Utc>>,
    pub customer_id: Option<UserId>,
    /// Only the orders the search finds (see `OrderSearch`).
    pub search: Option<OrderSearch>,
}

impl OrderFilter {
    /// The same filter, narrowed to one customer's orders whatever it said before.
    pub fn for_customer(self, customer_id: UserId) -> Self {
        Self {
            customer_id: Some(customer_id),
            ..self
        }
    }

    /// Whether this keeps every order of `customer` and nothing else.
    pub fn is_all_orders_of(&self, customer: UserId) -> bool {
        self.customer_id == Some(customer)
            && self.statuses.is_empty()
            && self.created_after.is_none()
            && self.created_before.is_none()
            && self.search.is_none()
    }
}

/// Which users a list keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    /// Exact address; `Email` is already lower-cased, so the match is case-insensitive.
    pub email: Option<Email>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_size_is_between_one_and_a_thousand() {
        assert!(PageSize::new(0).is_err());
        assert!(PageSize::new(1001).is_err());
        assert_eq!(PageSize::new(1).map(PageSize::get).ok(), Some(1));
        assert_eq!(PageSize::new(1000).map(PageSize::get).ok(), Some(1000));
        assert_eq!(PageSize::default().get(), 100);
    }

    fn size(n: usize) -> PageSize {
        PageSize::new(n).expect("valid size")
    }

    #[test]
    fn an_overfetched_row_means_another_page_starting_below_the_last_item() {
        let page = Page::from_overfetch(vec![9, 8, 7, 6], size(3), |&id| id);
        assert_eq!(page.items, vec![9, 8, 7]);
        assert_eq!(page.next_before, Some(7));
    }

    #[test]
    fn a_short_or_exact_page_is_the_last() {
        let exact = Page::from_overfetch(vec![9, 8, 7], size(3), |&id| id);
        assert_eq!(exact.next_before, None);
        let empty = Page::from_overfetch(Vec::<i64>::new(), size(3), |&id| id);
        assert_eq!(empty.next_before, None);
        assert!(empty.items.is_empty());
    }

    #[test]
    fn a_customer_filter_overrides_whatever_customer_was_asked_for() {
        let other = UserId::parse(9).expect("valid id");
        let me = UserId::parse(7).expect("valid id");
        let filter = OrderFilter {
            customer_id: Some(other),
            ..OrderFilter::default()
        }
        .for_customer(me);
        assert_eq!(filter.customer_id, Some(me));
    }
}
