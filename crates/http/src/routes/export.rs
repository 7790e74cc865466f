//! `GET /orders/export.csv`: every order the filters keep, as RFC 4180 CSV, streamed.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{stream, StreamExt};
use trachios_domain::services::{OrderExport, OrderExportService};
use trachios_domain::{DomainError, ExportedOrder, EXPORT_COLUMNS};

use crate::auth::Authenticated;
use crate::limits::{ExportPace, ExportSlots};
use crate::lists::every_order_filter;
use crate::openapi::{ErrorBody, OrderExportQuery, OrderSearchQuery};
use crate::ApiError;

/// Every order the filters keep, newest first, as CSV (admin).
#[utoipa::path(
    get, path = "/api/v1/orders/export.csv", tag = "orders", operation_id = "export_orders",
    security(("bearer" = [])),
    params(OrderExportQuery, OrderSearchQuery),
    responses(
        (status = 200, description = "RFC 4180 CSV with a header row (`id,customer_id,customer_email,status,item_description,currency,total,lines,created_at,updated_at`), one row per order, newest first; `total` in the currency's minor unit, `lines` as `SKU×quantity` separated by spaces; a cell starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`. Streamed as it is read.",
            content_type = "text/csv; charset=utf-8", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"orders.csv\"`"))),
        (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 429, description = "`EXPORTS_AT_ONCE` exports are under way in this process", body = ErrorBody, headers(("Retry-After" = u32, description = "seconds until a request may succeed"))),
    )
)]
pub(crate) async fn export_csv(
    exports: web::Data<OrderExportService>,
    slots: web::Data<ExportSlots>,
    Authenticated(caller): Authenticated,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // A customer learns nothing about which parameters would be accepted.
    exports.ensure_may_export(caller)?;
    let mut export = exports.start(caller, every_order_filter(&req)?)?;
    let mut pace = slots.take()?;
    // Read before answering, so that a store that cannot be read is an error status, not
    // a 200 cut short.
    let first = export.next_chunk().await?;
    let head =
        csv_rows(Some(&EXPORT_COLUMNS), first.as_deref().unwrap_or_default()).map_err(ApiError)?;
    pace.sent(first.as_ref().map_or(0, Vec::len));
    let rest = first.map(|_| (export, pace));
    // The next chunk is read only when the last one has been handed to the connection
    // and the pace allows it: a slow client slows the reads, and one that goes away drops
    // the export, and its slot, with them.
    let body = stream::once(async move { Ok::<_, DomainError>(head) }).chain(stream::try_unfold(
        rest,
        |rest: Option<(OrderExport, ExportPace)>| async move {
            let Some((mut export, mut pace)) = rest else {
                return Ok(None);
            };
            pace.ready().await;
            match export.next_chunk().await {
                Ok(Some(chunk)) => {
                    pace.sent(chunk.len());
                    Ok(Some((csv_rows(None, &chunk)?, Some((export, pace)))))
                }
                Ok(None) => Ok(None),
                Err(err) => {
                    tracing::warn!(error = %err.chain(), "orders export cut short");
                    Err(err)
                }
            }
        },
    ));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"orders.csv\"",
        ))
        // Customers' e-mails and orders: not for shared caches or the browser's history.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// The rows as CSV, after a header row when given one. Lines end in CRLF, as RFC 4180 has
/// them.
fn csv_rows(header: Option<&[&str]>, rows: &[ExportedOrder]) -> Result<Bytes, DomainError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(200 * (rows.len() + 1)));
    let failed = |err: csv::Error| DomainError::internal(err);
    if let Some(header) = header {
        writer.write_record(header).map_err(failed)?;
    }
    for row in rows {
        let cells = row.cells();
        writer
            .write_record(cells.iter().map(|cell| cell.as_bytes()))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|err| DomainError::internal(err.into_error()))
}
