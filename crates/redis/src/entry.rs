//! How an order is stored: `"{version}:{epoch}:{customer}:{body}"`, the body being the order
//! as the API sends it, so that the Lua compare-and-set can read the version and the
//! database's epoch, and a read can check the caller and answer, without parsing JSON.
//! Anything that does not parse as this is a miss, and the next write replaces it.

use bytes::Bytes;
use trachios_domain::{Order, RenderedOrder, UserId};

/// Writes the entry unless the stored one, of the same database epoch, has the same or a
/// newer version. KEYS[1] = key, ARGV[1] = version, ARGV[2] = entry, ARGV[3] = TTL in
/// milliseconds, ARGV[4] = epoch.
pub(crate) const PUT_IF_NEWER: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local stored, epoch = string.match(current, '^(%d+):([^:]*):')
  if stored and epoch == ARGV[4] and tonumber(stored) >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

pub(crate) fn encode(order: &Order, epoch: &str, body: &[u8]) -> Vec<u8> {
    let mut entry = format!("{}:{epoch}:{}:", order.version, order.customer_id).into_bytes();
    entry.extend_from_slice(body);
    entry
}

/// The version and the rendered order in an entry, if the entry belongs to this database's
/// epoch. The body shares the entry's memory.
pub(crate) fn decode(raw: Bytes, epoch: &str) -> Option<(i64, RenderedOrder)> {
    let mut fields = raw.splitn(4, |&b| b == b':');
    let version = fields.next().filter(|v| is_number(v))?;
    let version = std::str::from_utf8(version).ok()?.parse().ok()?;
    if fields.next()? != epoch.as_bytes() {
        return None;
    }
    let customer = fields.next().filter(|c| is_number(c))?;
    let customer = UserId::parse(std::str::from_utf8(customer).ok()?.parse().ok()?).ok()?;
    let body_start = raw.len() - fields.next().filter(|b| !b.is_empty())?.len();
    Some((
        version,
        RenderedOrder {
            customer_id: customer,
            body: raw.slice(body_start..),
        },
    ))
}

fn is_number(field: &[u8]) -> bool {
    !field.is_empty() && field.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use trachios_domain::{ItemDescription, OrderId, OrderStatus};

    fn order() -> Order {
        Order {
            id: OrderId::parse(4).unwrap(),
            customer_id: UserId::parse(2).unwrap(),
            item_description: ItemDescription::parse("a \"version\":99 trap").unwrap(),
            details: Default::default(),
            status: OrderStatus::InTransit,
            version: 7,
            next_step_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn entries_round_trip_and_lead_with_the_version() {
        let body = br#"{"id":4,"note":"a:b:c"}"#;
        let raw = Bytes::from(encode(&order(), "e1", body));
        assert!(raw.starts_with(b"7:e1:2:{"));
        assert_eq!(
            decode(raw.clone(), "e1"),
            Some((
                7,
                RenderedOrder {
                    customer_id: UserId::parse(2).unwrap(),
                    body: Bytes::from_static(body),
                }
            ))
        );
        assert_eq!(decode(raw, "another-database"), None);
        assert_eq!(decode(Bytes::from_static(b"garbage"), "e1"), None);
    }

    #[test]
    fn an_entry_in_another_format_is_a_miss() {
        let earlier = format!(
            "7:e1:{}",
            serde_json::to_string(&order()).expect("serialises")
        );
        assert_eq!(decode(Bytes::from(earlier), "e1"), None);
    }
}
