//! Query parameters of the lists, described for the document; `lists::params` parses them.

#![allow(dead_code)] // these types only describe; nothing constructs them

use chrono::{DateTime, Utc};
use utoipa::IntoParams;

use super::schemas::{OrderStatusName, RoleName};

/// The order filters of `GET /my-orders` and `GET /orders`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderListQuery {
    /// Items per page, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Where the previous page ended: copied from its `Link: rel="next"`, never built.
    cursor: Option<String>,
    /// Any of these statuses (repeat the parameter or separate with commas).
    #[param(style = Form, explode)]
    status: Option<Vec<OrderStatusName>>,
    /// Created strictly after this instant (RFC 3339).
    created_after: Option<DateTime<Utc>>,
    /// Created strictly before this instant (RFC 3339).
    created_before: Option<DateTime<Utc>>,
}

/// The filters of `GET /orders/export.csv`: those of `GET /orders`, without paging.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderExportQuery {
    /// Any of these statuses (repeat the parameter or separate with commas).
    #[param(style = Form, explode)]
    status: Option<Vec<OrderStatusName>>,
    /// Created strictly after this instant (RFC 3339).
    created_after: Option<DateTime<Utc>>,
    /// Created strictly before this instant (RFC 3339).
    created_before: Option<DateTime<Utc>>,
    /// Only this customer's orders.
    #[param(minimum = 1)]
    customer_id: Option<i64>,
}

/// The search of `GET /orders` and its export.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderSearchQuery {
    /// An order id (`42`, `#42`), a customer's e-mail, or a substring (3+ characters) of the
    /// item description or of a line's sku or name, case-insensitive; trimmed. Orders
    /// matching any of these are kept.
    #[param(
        max_length = 255,
        pattern = r"^\s*(#?0*[1-9][0-9]{0,17}|[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]+[^\s\x00-\x1F\x7F-\x9F])\s*$"
    )]
    q: Option<String>,
}

/// `GET /users`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsersQuery {
    /// Items per page, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Where the previous page ended: copied from its `Link: rel="next"`, never built.
    cursor: Option<String>,
    role: Option<RoleName>,
    /// Exact address, compared case-insensitively.
    #[param(format = Email, max_length = 255)]
    email: Option<String>,
}

/// `GET /webhooks/{id}/deliveries`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveriesQuery {
    /// Items per page, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Where the previous page ended: copied from its `Link: rel="next"`, never built.
    cursor: Option<String>,
}

/// `GET /products`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProductListQuery {
    /// Items per page, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Where the previous page ended: copied from its `Link: rel="next"`, never built.
    cursor: Option<String>,
    /// A substring (3+ characters) of a name or sku, or a shorter prefix of a sku;
    /// case-insensitive. Trimmed; never NUL.
    #[param(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    q: Option<String>,
    /// `true` (default); `false` and `any` for admins only.
    #[param(pattern = "^(true|false|any)$")]
    active: Option<String>,
}

/// `POST /logout`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogoutQuery {
    /// `true` ends every token of the account, not only the one presented.
    all: Option<bool>,
}

/// The `Idempotency-Key` of `POST /orders` and `POST /orders/bulk`.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IdempotencyKeyHeader {
    /// 1–255 printable ASCII characters (HTTP drops leading and trailing spaces); a repeat
    /// within 24 hours replays the first answer
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = r"^[\x20-\x7E]*[\x21-\x7E][\x20-\x7E]*$"
    )]
    idempotency_key: Option<String>,
}
