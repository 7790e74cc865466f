//! What a row of the orders export says: its columns, each cell's text, and the guard
//! against spreadsheet formulas. The wire format (quoting, line ends) is the adapter's.

use std::borrow::Cow;

use crate::{Email, Order};

/// The header row, in column order.
pub const EXPORT_COLUMNS: [&str; 10] = [
    "id",
    "customer_id",
    "customer_email",
    "status",
    "item_description",
    "currency",
    "total",
    "lines",
    "created_at",
    "updated_at",
];

/// How many orders each read of an export fetches: a chunk is read, written and sent before
/// the next is read, so memory holds one chunk whatever the export's size, and no
/// transaction lasts longer than one read. Small, because decoding and writing a chunk runs
/// without a pause on a thread that also serves other requests: at 1,000 the p99 of cached
/// reads doubled during exports, at 250 it rose by about a fifth (`cargo xtask bench export`).
pub const EXPORT_CHUNK: usize = 250;

/// First characters with which a spreadsheet reads a cell as a formula (OWASP's list): such
/// a cell gets a leading `'`, which spreadsheets show as text and do not evaluate.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One exported order and its customer's e-mail (`None` once the account is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedOrder {
    pub order: Order,
    pub customer_email: Option<Email>,
}

impl ExportedOrder {
    /// The row's cells, in the order of `EXPORT_COLUMNS`. Amounts are in the currency's
    /// minor unit, as in the JSON; lines are `SKU×quantity`, separated by spaces.
    pub fn cells(&self) -> [Cow<'_, str>; 10] {
        let order = &self.order;
        let details = &order.details;
        let lines = details
            .lines
            .iter()
            .map(|line| format!("{}×{}", line.sku, line.quantity.get()))
            .collect::<Vec<_>>()
            .join(" ");
        [
            Cow::Owned(order.id.get().to_string()),
            Cow::Owned(order.customer_id.get().to_string()),
            text(self.customer_email.as_ref().map_or("", Email::as_str)),
            Cow::Borrowed(order.status.as_str()),
            text(order.item_description.as_str()),
            Cow::Borrowed(details.total.map_or("", |t| t.currency().code())),
            Cow::Owned(
                details
                    .total
                    .map_or(String::new(), |t| t.minor().to_string()),
            ),
            text(lines),
            Cow::Owned(crate::rfc3339::format(&order.created_at)),
            Cow::Owned(crate::rfc3339::format(&order.updated_at)),
        ]
    }
}

/// A cell of text someone typed, which a spreadsheet must not run.
fn text<'a>(cell: impl Into<Cow<'a, str>>) -> Cow<'a, str> {
    let cell = cell.into();
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fixtures::{order, T0};
    use crate::{ItemDescription, OrderStatus};

    fn exported(description: &str) -> ExportedOrder {
        let mut order = order(42, 7, OrderStatus::Dispatched, 2);
        order.item_description = ItemDescription::parse(description).unwrap();
        ExportedOrder {
            order,
            customer_email: Some(Email::parse("ann@x.io").unwrap()),
        }
    }

    #[test]
    fn a_free_text_order_has_no_currency_total_or_lines() {
        let row = exported("Laptop, 15\"");
        let at = crate::rfc3339::format(&T0);
        let cells = row.cells();
        let cells: Vec<&str> = cells.iter().map(|c| c.as_ref()).collect();
        assert_eq!(
            cells,
            [
                "42",
                "7",
                "ann@x.io",
                "dispatched",
                "Laptop, 15\"",
                "",
                "",
                "",
                at.as_str(),
                at.as_str()
            ]
        );
    }

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_shown_as_text() {
        for formula in ["=1+2", "+1", "-2+3", "@SUM(A1)"] {
            let row = exported(&format!("{formula} end"));
            assert_eq!(row.cells()[4], format!("'{formula} end"), "{formula:?}");
        }
        // Trimmed away from what customers type, but not from every text a cell may hold.
        assert_eq!(text("\tx"), "'\tx");
        assert_eq!(text("\rx"), "'\rx");
        assert_eq!(exported("a=b").cells()[4], "a=b");
        let mut gone = exported("Laptop");
        gone.customer_email = None;
        assert_eq!(gone.cells()[2], "");
    }
}
