-- POST /orders/bulk with an Idempotency-Key (see the PostgreSQL migration of the same name).
-- Times are microseconds since the epoch, as everywhere in this store.
CREATE TABLE bulk_request_keys (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    response    TEXT,
    claimed_at  INTEGER NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT;

CREATE INDEX bulk_request_keys_expires_at_idx ON bulk_request_keys (expires_at);
