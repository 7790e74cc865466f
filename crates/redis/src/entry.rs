//! How an order is stored: `"{version}:{epoch}:{json}"`, so that the Lua compare-and-set
//! can read the version and the database's epoch without parsing JSON.

use trachios_domain::Order;

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

pub(crate) fn encode(order: &Order, epoch: &str) -> Result<String, serde_json::Error> {
    Ok(format!(
        "{}:{epoch}:{}",
        order.version,
        serde_json::to_string(order)?
    ))
}

/// The order in an entry, if the entry belongs to this database's epoch.
pub(crate) fn decode(raw: &str, epoch: &str) -> Option<Order> {
    let (_, rest) = raw.split_once(':')?;
    let (stored_epoch, json) = rest.split_once(':')?;
    if stored_epoch != epoch {
        return None;
    }
    serde_json::from_str(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use trachios_domain::{ItemDescription, OrderId, OrderStatus, UserId};

    #[test]
    fn entries_round_trip_and_lead_with_the_version() {
        let order = Order {
            id: OrderId::parse(4).unwrap(),
            customer_id: UserId::parse(2).unwrap(),
            item_description: ItemDescription::parse("a \"version\":99 trap").unwrap(),
            status: OrderStatus::InTransit,
            version: 7,
            next_step_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let raw = encode(&order, "e1").unwrap();
        assert!(raw.starts_with("7:e1:{"));
        assert_eq!(decode(&raw, "e1"), Some(order));
        assert_eq!(decode(&raw, "another-database"), None);
        assert_eq!(decode("garbage", "e1"), None);
    }
}
