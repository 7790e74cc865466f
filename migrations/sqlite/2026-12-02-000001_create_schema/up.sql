-- The embedded store's schema: the same tables as PostgreSQL's (migrations/postgres) as they
-- stand after all of its migrations. Times are microseconds since the Unix epoch (UTC), the
-- precision PostgreSQL keeps, so that both stores compare and return the same instants.
-- STRICT tables refuse a value of the wrong type instead of storing it.

CREATE TABLE users (
    -- AUTOINCREMENT: an id is never handed out twice, even after a delete, as with a sequence.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    -- Stored lower-cased by the application; the check keeps uniqueness case-insensitive.
    email         TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX users_role_id_idx ON users (role, id DESC);

CREATE TABLE orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_description TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'created'
                     CHECK (status IN ('created', 'dispatched', 'in_transit', 'delivered', 'cancelled')),
    -- Bumped by every change: compare-and-set and the versioned cache rely on it.
    version          INTEGER NOT NULL DEFAULT 1,
    -- When the order advances by itself; NULL once it is terminal.
    next_step_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK ((status IN ('delivered', 'cancelled')) = (next_step_at IS NULL))
) STRICT;

CREATE INDEX orders_customer_id_id_idx ON orders (customer_id, id DESC);
CREATE INDEX orders_due_idx ON orders (next_step_at) WHERE next_step_at IS NOT NULL;
CREATE INDEX orders_status_id_idx ON orders (status, id DESC);
CREATE INDEX orders_created_at_idx ON orders (created_at);

CREATE TABLE order_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    actor        TEXT NOT NULL CHECK (actor IN ('system', 'customer', 'admin')),
    actor_id     INTEGER,
    created_at   INTEGER NOT NULL,
    -- The version the change produced and the due time it set, as in PostgreSQL.
    version      INTEGER NOT NULL,
    next_step_at INTEGER
) STRICT;

CREATE INDEX order_events_order_id_idx ON order_events (order_id, id);

-- A random identity of this database, stamped on cache entries when the cache is Redis.
CREATE TABLE cache_epoch (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    epoch     TEXT NOT NULL
) STRICT;

INSERT INTO cache_epoch (singleton, epoch) VALUES (1, lower(hex(randomblob(16))));

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_tokens_expires_at_idx ON revoked_tokens (expires_at);

CREATE TABLE idempotency_keys (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    order_id    INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- The order as the first request was answered (JSON).
    response    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT;

CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
CREATE INDEX idempotency_keys_order_id_idx ON idempotency_keys (order_id);
