//! Paginated lists: query parameters in, one page and its `Link: rel="next"` out.

mod cursor;
mod params;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use serde::Serialize;
use trachios_domain::{
    DomainError, OrderFilter, Page, PageRequest, ProductFilter, RenderedPage, UserFilter,
};

pub use cursor::CursorKey;
pub(crate) use cursor::ListKind;
use params::QueryParams;

/// A list request: which list, its query parameters and the page they ask for.
pub(crate) struct ListRequest {
    kind: ListKind,
    params: QueryParams,
    key: web::Data<CursorKey>,
    pub page: PageRequest,
}

impl ListRequest {
    pub(crate) fn parse(
        req: &HttpRequest,
        key: web::Data<CursorKey>,
        kind: ListKind,
    ) -> Result<Self, DomainError> {
        let params = QueryParams::of(req);
        let page = params::page_request(&params, &key, kind)?;
        Ok(Self {
            kind,
            params,
            key,
            page,
        })
    }

    /// The order filters; `customer_id` only where the caller may choose the customer.
    pub(crate) fn order_filter(&self, customer_allowed: bool) -> Result<OrderFilter, DomainError> {
        params::order_filter(&self.params, customer_allowed)
    }

    pub(crate) fn user_filter(&self) -> Result<UserFilter, DomainError> {
        params::user_filter(&self.params)
    }

    pub(crate) fn product_filter(&self) -> Result<ProductFilter, DomainError> {
        params::product_filter(&self.params)
    }

    /// 200 with the page's items, and a link to the next page unless this is the last.
    pub(crate) fn respond<T, R: Serialize>(
        &self,
        req: &HttpRequest,
        page: Page<T>,
        to_response: impl Fn(T) -> R,
    ) -> HttpResponse {
        let items: Vec<R> = page.items.into_iter().map(to_response).collect();
        self.ok(req, page.next_before).json(items)
    }

    /// 200 with a page rendered already (see `render_json`).
    pub(crate) fn respond_rendered(&self, req: &HttpRequest, page: RenderedPage) -> HttpResponse {
        self.ok(req, page.next_before)
            .content_type("application/json")
            .body(page.body)
    }

    fn ok(&self, req: &HttpRequest, next_before: Option<i64>) -> HttpResponseBuilder {
        let mut response = HttpResponse::Ok();
        if let Some(before) = next_before {
            let link = self.next_link(req, &self.key.seal(self.kind, before));
            if let Ok(value) = header::HeaderValue::from_str(&link) {
                response.insert_header((header::LINK, value));
            }
        }
        response
    }

    /// `<path?filters&limit&cursor>; rel="next"` (RFC 8288), as an absolute path: it stays
    /// right behind any proxy that rewrites the host.
    fn next_link(&self, req: &HttpRequest, cursor: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(self.params.without(&["limit", "cursor"]));
        query.append_pair("limit", &self.page.size.get().to_string());
        query.append_pair("cursor", cursor);
        format!("<{}?{}>; rel=\"next\"", req.path(), query.finish())
    }
}

/// A list's items as the JSON array the API sends, for pages that are kept rendered.
pub(crate) fn render_json<T, R: Serialize>(
    items: Vec<T>,
    to_response: impl Fn(T) -> R,
) -> Result<Bytes, DomainError> {
    let items: Vec<R> = items.into_iter().map(to_response).collect();
    serde_json::to_vec(&items)
        .map(Bytes::from)
        .map_err(DomainError::internal)
}

/// The order filters of a request that reads every match rather than a page (`limit` and
/// `cursor` are not its parameters); `customer_id` included.
pub(crate) fn every_order_filter(req: &HttpRequest) -> Result<OrderFilter, DomainError> {
    params::order_filter(&QueryParams::of(req), true)
}
