-- Webhook endpoints, the outbox of their deliveries, and the log of delivery attempts: the
-- same tables as PostgreSQL's (migrations/postgres/2026-12-03-000001_webhooks).

CREATE TABLE webhooks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,
    order_created  INTEGER NOT NULL CHECK (order_created IN (0, 1)),
    status_changed INTEGER NOT NULL CHECK (status_changed IN (0, 1)),
    created_at     INTEGER NOT NULL,
    CHECK (order_created OR status_changed)
) STRICT;

CREATE TABLE webhook_events (
    event_id INTEGER PRIMARY KEY REFERENCES order_events (id) ON DELETE CASCADE,
    uuid     TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES webhook_events (event_id) ON DELETE CASCADE,
    order_id        INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'expired')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    finished_at     INTEGER,
    CHECK ((state = 'pending') = (finished_at IS NULL))
) STRICT;

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (webhook_id, order_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at)
    WHERE state <> 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_uuid   TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    attempted_at INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_attempts_webhook_idx ON webhook_attempts (webhook_id, id DESC);
CREATE INDEX webhook_attempts_attempted_at_idx ON webhook_attempts (attempted_at);

-- As in PostgreSQL, the database writes the outbox in the statement that records the
-- event, so no path can change an order without it. The event id is a random (version 4)
-- UUID, formatted as PostgreSQL prints one.
CREATE TRIGGER order_events_webhooks
AFTER INSERT ON order_events
WHEN EXISTS (
    SELECT 1 FROM webhooks w
    WHERE (NEW.from_status IS NULL AND w.order_created) OR (NEW.from_status IS NOT NULL AND w.status_changed)
)
BEGIN
    INSERT INTO webhook_events (event_id, uuid)
    SELECT NEW.id,
           lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
           || substr(lower(hex(randomblob(2))), 2) || '-'
           || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2)
           || '-' || lower(hex(randomblob(6)));
    INSERT INTO webhook_deliveries (webhook_id, event_id, order_id, next_attempt_at)
    SELECT w.id, NEW.id, NEW.order_id, NEW.created_at FROM webhooks w
    WHERE (NEW.from_status IS NULL AND w.order_created) OR (NEW.from_status IS NOT NULL AND w.status_changed)
    ORDER BY w.id;
END;
