//! A search of the orders (`GET /orders?q=`): by order id, by the customer's e-mail, or by a
//! piece of what was ordered.

use crate::input::invalid;
use crate::{DomainError, Email, Order, OrderId};

/// What `q` may be: an order id (`42` or `#42`), a customer's e-mail, or a case-insensitive
/// substring (3+ characters) of the order's item description or of a line's sku or name.
/// Everything `q` can be is looked for, and an order matching any of it is found: `1234`
/// finds order 1234 and the orders whose text holds `1234`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSearch {
    id: Option<OrderId>,
    email: Option<Email>,
    /// Lower case.
    text: Option<String>,
}

impl OrderSearch {
    pub const MAX_LENGTH: usize = 255;
    /// The shortest piece of text looked for (trigram indexes need three characters).
    pub const SUBSTRING_FROM: usize = 3;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let q = raw.trim();
        // No control characters: the searched text keeps its parts on separate lines, and a
        // query without line breaks never matches across two of them.
        if q.chars().any(char::is_control) {
            return Err(invalid("q must not contain control characters"));
        }
        match q.chars().count() {
            0 => return Err(invalid("q must not be empty")),
            n if n > Self::MAX_LENGTH => {
                return Err(invalid(format!(
                    "q must be at most {} characters",
                    Self::MAX_LENGTH
                )))
            }
            _ => {}
        }
        let digits = q.strip_prefix('#').unwrap_or(q);
        let id = digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse::<i64>().ok())
            .flatten()
            .and_then(|n| OrderId::parse(n).ok());
        let email = q.contains('@').then(|| Email::parse(q).ok()).flatten();
        let text = (q.chars().count() >= Self::SUBSTRING_FROM).then(|| q.to_lowercase());
        if id.is_none() && email.is_none() && text.is_none() {
            return Err(invalid(format!(
                "q must be an order id, an e-mail or at least {} characters",
                Self::SUBSTRING_FROM
            )));
        }
        Ok(Self { id, email, text })
    }

    pub fn id(&self) -> Option<OrderId> {
        self.id
    }

    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }

    /// The piece of text looked for, lower case.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// What a search by text reads of an order: its item description, then each line's sku
    /// and name, each on a line of its own, lower case. Both stores index this text.
    pub fn searched_text(order: &Order) -> String {
        let mut text = order.item_description.as_str().to_lowercase();
        for line in &order.details.lines {
            text.push('\n');
            text.push_str(&line.sku.to_lowercase());
            text.push('\n');
            text.push_str(&line.name.to_lowercase());
        }
        text
    }

    /// The rule both stores' indexes serve, for tests to hold them to.
    pub fn matches(&self, order: &Order, customer_email: &Email) -> bool {
        self.id == Some(order.id)
            || self.email.as_ref() == Some(customer_email)
            || self
                .text
                .as_ref()
                .is_some_and(|text| Self::searched_text(order).contains(text.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(q: &str) -> (Option<i64>, Option<String>, Option<String>) {
        let search = OrderSearch::parse(q).unwrap();
        (
            search.id().map(OrderId::get),
            search.email().map(|e| e.as_str().to_owned()),
            search.text().map(str::to_owned),
        )
    }

    #[test]
    fn q_is_looked_for_as_everything_it_can_be() {
        assert_eq!(parts("42"), (Some(42), None, None));
        assert_eq!(parts("#42"), (Some(42), None, Some("#42".into())));
        assert_eq!(parts("1234"), (Some(1234), None, Some("1234".into())));
        assert_eq!(
            parts(" Jo@Example.COM "),
            (
                None,
                Some("jo@example.com".into()),
                Some("jo@example.com".into())
            )
        );
        assert_eq!(parts("Enamel MUG"), (None, None, Some("enamel mug".into())));
        assert_eq!(parts("@home"), (None, None, Some("@home".into())));
    }

    #[test]
    fn what_q_cannot_be_is_refused_with_the_rule() {
        let refusal = |q: &str| match OrderSearch::parse(q) {
            Err(DomainError::Validation(message)) => message,
            other => panic!("{q:?}: {other:?}"),
        };
        assert_eq!(refusal("  "), "q must not be empty");
        assert_eq!(
            refusal("ab"),
            "q must be an order id, an e-mail or at least 3 characters"
        );
        assert_eq!(
            refusal("0"),
            "q must be an order id, an e-mail or at least 3 characters"
        );
        assert_eq!(
            refusal("mug\nlamp"),
            "q must not contain control characters"
        );
        assert_eq!(
            refusal(&"x".repeat(256)),
            "q must be at most 255 characters"
        );
        assert!(
            OrderSearch::parse(&"é".repeat(255)).is_ok(),
            "characters, not bytes"
        );
    }
}
