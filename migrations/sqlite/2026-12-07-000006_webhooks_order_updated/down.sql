PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TRIGGER IF EXISTS order_events_webhooks;
DROP TABLE IF EXISTS webhooks_rebuilt;
CREATE TABLE webhooks_rebuilt (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,
    order_created  INTEGER NOT NULL CHECK (order_created IN (0, 1)),
    status_changed INTEGER NOT NULL CHECK (status_changed IN (0, 1)),
    created_at     INTEGER NOT NULL,
    CHECK (order_created OR status_changed)
) STRICT;
INSERT INTO webhooks_rebuilt (id, url, secret, order_created, status_changed, created_at)
    SELECT id, url, secret, order_created, status_changed, created_at FROM webhooks
    WHERE order_created OR status_changed;
DROP TABLE webhooks;
ALTER TABLE webhooks_rebuilt RENAME TO webhooks;
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
COMMIT;
PRAGMA foreign_keys = ON;
