//! How an order is stored: `"{version}:{json}"`, so that the Lua compare-and-set can read
//! the version without parsing JSON.

use trachios_domain::Order;

/// Writes the entry unless the stored one has the same or a newer version.
/// KEYS[1] = key, ARGV[1] = version, ARGV[2] = entry, ARGV[3] = TTL in milliseconds.
pub(crate) const PUT_IF_NEWER: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^(%d+):'))
  if stored and stored >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

pub(crate) fn encode(order: &Order) -> Result<String, serde_json::Error> {
    Ok(format!(
        "{}:{}",
        order.version,
        serde_json::to_string(order)?
    ))
}

pub(crate) fn decode(raw: &str) -> Option<Order> {
    let (_, json) = raw.split_once(':')?;
    serde_json::from_str(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use trachios_domain::OrderStatus;

    #[test]
    fn entries_round_trip_and_lead_with_the_version() {
        let order = Order {
            id: 4,
            customer_id: 2,
            item_description: "a \"version\":99 trap".into(),
            status: OrderStatus::InTransit,
            version: 7,
            next_step_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let raw = encode(&order).unwrap();
        assert!(raw.starts_with("7:{"));
        assert_eq!(decode(&raw), Some(order));
        assert_eq!(decode("garbage"), None);
    }
}
