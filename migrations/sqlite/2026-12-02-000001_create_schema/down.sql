DROP TABLE idempotency_keys;
DROP TABLE revoked_tokens;
DROP TABLE cache_epoch;
DROP TABLE order_events;
DROP TABLE orders;
DROP TABLE users;
