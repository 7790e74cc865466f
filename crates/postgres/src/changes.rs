//! The notification every change of an order sends at its commit: what the SQL writes and
//! what the listener reads, kept side by side so that the two cannot drift.

use chrono::{DateTime, Utc};
use trachios_domain::{OrderId, OrderStatus, UserId};

/// The channel; NOTIFY is scoped to one database, so deployments never hear each other.
pub const CHANNEL: &str = "trachios_order_changes";

/// A CTE named `announced` that notifies the listeners of every row of the CTE `$source`
/// when the transaction commits. One record per order —
/// `id,customer_id,version,status,updated_at µs,next_step_at µs or empty` — and records
/// joined by `;` into payloads of at most 64 (≤ 7,000 bytes, under NOTIFY's 8,000).
/// The statement must read `announced` (e.g. `FROM source, announced`) or PostgreSQL skips it.
macro_rules! announce {
    ($source:literal) => {
        concat!(
            "announced AS (
    SELECT count(pg_notify('trachios_order_changes', chunk)) AS notifications
    FROM (
        SELECT string_agg(record, ';' ORDER BY id) AS chunk
        FROM (
            SELECT id, (row_number() OVER (ORDER BY id) - 1) / 64 AS part,
                   concat_ws(',', id, customer_id, version, status,
                       (extract(epoch FROM updated_at) * 1000000)::bigint,
                       coalesce(((extract(epoch FROM next_step_at) * 1000000)::bigint)::text, '')
                   ) AS record
            FROM ",
            $source,
            "
        ) records
        GROUP BY part
    ) chunks
)"
        )
    };
}
pub(crate) use announce;

/// What a notification says about one changed order: everything that a change can alter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChanged {
    pub id: OrderId,
    pub customer_id: UserId,
    pub version: i64,
    pub status: OrderStatus,
    pub updated_at: DateTime<Utc>,
    pub next_step_at: Option<DateTime<Utc>>,
}

/// The records of one payload; `None` if any record is malformed (a payload this version
/// did not write).
pub fn parse_payload(payload: &str) -> Option<Vec<OrderChanged>> {
    payload.split(';').map(parse_record).collect()
}

fn parse_record(record: &str) -> Option<OrderChanged> {
    let mut fields = record.split(',');
    let mut next = || fields.next();
    let id = OrderId::parse(next()?.parse().ok()?).ok()?;
    let customer_id = UserId::parse(next()?.parse().ok()?).ok()?;
    let version = next()?.parse().ok()?;
    let status = OrderStatus::parse(next()?).ok()?;
    let updated_at = DateTime::from_timestamp_micros(next()?.parse().ok()?)?;
    let next_step_at = match next()? {
        "" => None,
        micros => Some(DateTime::from_timestamp_micros(micros.parse().ok()?)?),
    };
    if next().is_some() {
        return None;
    }
    Some(OrderChanged {
        id,
        customer_id,
        version,
        status,
        updated_at,
        next_step_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_every_record() {
        let parsed = parse_payload(
            "7,3,2,dispatched,1800000000123456,1800000015123456;8,3,4,delivered,1800000000000001,",
        )
        .expect("a valid payload");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].id.get(), 7);
        assert_eq!(parsed[0].status, OrderStatus::Dispatched);
        assert_eq!(
            parsed[0].updated_at.timestamp_micros(),
            1_800_000_000_123_456
        );
        assert_eq!(parsed[1].next_step_at, None);
    }

    #[test]
    fn the_sql_notifies_the_channel_the_listener_listens_to() {
        assert!(announce!("o").contains(&format!("pg_notify('{CHANNEL}'")));
    }

    #[test]
    fn malformed_payloads_are_refused_whole() {
        for bad in [
            "",
            "7,3,2,dispatched,1",
            "7,3,2,shipped,1,",
            "7,3,2,created,1,,extra",
            "x,3,2,created,1,",
        ] {
            assert_eq!(parse_payload(bad), None, "{bad:?}");
        }
    }
}
