//! A list request's query string as the domain's page and filters; every refusal names
//! the parameter it is about.

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use trachios_domain::{
    ActiveFilter, DomainError, Email, OrderFilter, OrderSearch, OrderStatus, PageRequest, PageSize,
    ProductFilter, ProductQuery, Role, UserFilter, UserId,
};

use super::cursor::{CursorKey, ListKind};

/// The decoded `name=value` pairs of a query string, in their order.
#[derive(Debug, Clone)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn of(req: &HttpRequest) -> Self {
        Self(
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// Every pair but those named, for links that repeat the request with changes.
    pub(crate) fn without<'a>(
        &'a self,
        names: &'a [&str],
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter(move |(name, _)| !names.contains(&name.as_str()))
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// A parameter that may be given once; given twice, which one was meant is unclear.
    fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, DomainError> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(invalid(format!("{name} may be given only once")));
        }
        Ok(first)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }
}

fn invalid(message: String) -> DomainError {
    DomainError::Validation(message)
}

/// `limit` and `cursor`.
pub(crate) fn page_request(
    params: &QueryParams,
    key: &CursorKey,
    kind: ListKind,
) -> Result<PageRequest, DomainError> {
    let size = match params.single("limit")? {
        None => PageSize::default(),
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| PageSize::new(n).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "limit must be a whole number from 1 to {}",
                    PageSize::MAX
                ))
            })?,
    };
    let before = params
        .single("cursor")?
        .map(|raw| key.open(kind, raw))
        .transpose()?;
    Ok(PageRequest { size, before })
}

/// `status`, `created_after`, `created_before`, and `customer_id` and `q` where the caller
/// may choose whose orders to see and search them all.
pub(crate) fn order_filter(
    params: &QueryParams,
    customer_allowed: bool,
) -> Result<OrderFilter, DomainError> {
    let mut statuses = Vec::new();
    for value in params.all("status") {
        for raw in value.split(',') {
            let status = OrderStatus::parse(raw.trim())?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
    }
    let customer_id = if customer_allowed {
        params
            .single("customer_id")?
            .map(|raw| {
                raw.trim()
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| UserId::parse(id).ok())
                    .ok_or_else(|| invalid("customer_id must be a positive integer".to_owned()))
            })
            .transpose()?
    } else {
        None
    };
    let search = if customer_allowed {
        params.single("q")?.map(OrderSearch::parse).transpose()?
    } else {
        None
    };
    Ok(OrderFilter {
        statuses,
        created_after: time(params, "created_after")?,
        created_before: time(params, "created_before")?,
        customer_id,
        search,
    })
}

/// `role` and `email`.
pub(crate) fn user_filter(params: &QueryParams) -> Result<UserFilter, DomainError> {
    Ok(UserFilter {
        role: params.single("role")?.map(Role::parse).transpose()?,
        email: params.single("email")?.map(Email::parse).transpose()?,
    })
}

/// `active` and `q`.
pub(crate) fn product_filter(params: &QueryParams) -> Result<ProductFilter, DomainError> {
    Ok(ProductFilter {
        active: params
            .single("active")?
            .map(ActiveFilter::parse)
            .transpose()?
            .unwrap_or_default(),
        q: params.single("q")?.map(ProductQuery::parse).transpose()?,
    })
}

fn time(params: &QueryParams, name: &str) -> Result<Option<DateTime<Utc>>, DomainError> {
    let Some(raw) = params.single(name)? else {
        return Ok(None);
    };
    parse_time(raw.trim()).map(Some).ok_or_else(|| {
        invalid(format!(
            "{name} must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z"
        ))
    })
}

/// RFC 3339; an offset's `+` left unescaped in a query string arrives as a space, which
/// is what a client most likely meant.
fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(raw).or_else(|err| match raw.rfind(' ') {
        Some(at) if at > 10 => {
            DateTime::parse_from_rfc3339(&format!("{}+{}", &raw[..at], &raw[at + 1..]))
        }
        _ => Err(err),
    });
    parsed.ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn params(query: &str) -> QueryParams {
        QueryParams::of(
            &TestRequest::get()
                .uri(&format!("/x?{query}"))
                .to_http_request(),
        )
    }

    fn message(err: DomainError) -> String {
        err.to_string()
    }

    fn key() -> CursorKey {
        CursorKey::derive(b"a secret of at least thirty-two bytes")
    }

    #[test]
    fn statuses_may_be_repeated_or_comma_separated() {
        let filter = order_filter(
            &params("status=created,delivered&status=cancelled&status=created"),
            false,
        )
        .unwrap();
        assert_eq!(
            filter.statuses,
            [
                OrderStatus::Created,
                OrderStatus::Delivered,
                OrderStatus::Cancelled
            ]
        );
    }

    #[test]
    fn times_are_rfc3339_with_an_unescaped_plus_forgiven() {
        let filter = order_filter(
            &params(
                "created_after=2026-11-25T10:00:00.5Z&created_before=2026-11-25T11:00:00+01:00",
            ),
            false,
        )
        .unwrap();
        assert_eq!(
            filter.created_after.map(|t| t.to_rfc3339()),
            Some("2026-11-25T10:00:00.500+00:00".to_owned())
        );
        assert_eq!(
            filter.created_before.map(|t| t.to_rfc3339()),
            Some("2026-11-25T10:00:00+00:00".to_owned())
        );
    }

    #[test]
    fn customer_id_counts_only_where_the_caller_may_choose() {
        assert_eq!(
            order_filter(&params("customer_id=7"), false)
                .unwrap()
                .customer_id,
            None
        );
        assert_eq!(
            order_filter(&params("customer_id=7"), true)
                .unwrap()
                .customer_id
                .map(UserId::get),
            Some(7)
        );
    }

    #[test]
    fn every_bad_value_names_its_parameter() {
        let cases = [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("limit=-1", "limit"),
            ("limit=1&limit=2", "limit"),
            ("cursor=abc", "cursor"),
            ("status=shipped", "status"),
            ("status=", "status"),
            ("created_after=yesterday", "created_after"),
            ("created_before=2026-13-01T00:00:00Z", "created_before"),
            ("customer_id=0", "customer_id"),
            ("customer_id=x", "customer_id"),
        ];
        for (query, name) in cases {
            let p = params(query);
            let err = page_request(&p, &key(), ListKind::Orders)
                .and_then(|_| order_filter(&p, true))
                .expect_err(query);
            assert!(message(err).contains(name), "{query}");
        }
        for (query, name) in [("role=root", "role"), ("email=%00@x.io", "email")] {
            let err = user_filter(&params(query)).expect_err(query);
            assert!(message(err).contains(name), "{query}");
        }
    }

    #[test]
    fn defaults_and_unknown_parameters_are_quietly_fine() {
        let p = params("sort=price&page=3");
        let page = page_request(&p, &key(), ListKind::Orders).unwrap();
        assert_eq!((page.size.get(), page.before), (100, None));
        assert_eq!(order_filter(&p, true).unwrap(), OrderFilter::default());
    }
}
