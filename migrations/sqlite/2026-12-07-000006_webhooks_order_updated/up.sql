-- Endpoints may hear edits (`order.updated`), as in PostgreSQL's migration of the same
-- name. The table is built again to widen its CHECK (SQLite's documented procedure for a
-- change ALTER TABLE cannot make). Every step is safe to run again: if the process stops
-- between this transaction's commit and the migration's record, the next start repeats
-- it over the rebuilt table and ends where it would have.
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
    order_updated  INTEGER NOT NULL DEFAULT 0 CHECK (order_updated IN (0, 1)),
    created_at     INTEGER NOT NULL,
    CHECK (order_created OR status_changed OR order_updated)
) STRICT;
INSERT INTO webhooks_rebuilt (id, url, secret, order_created, status_changed, created_at)
    SELECT id, url, secret, order_created, status_changed, created_at FROM webhooks;
-- AUTOINCREMENT's promise: no id of a deleted endpoint is given again.
DELETE FROM sqlite_sequence WHERE name = 'webhooks_rebuilt';
INSERT INTO sqlite_sequence (name, seq) SELECT 'webhooks_rebuilt', seq FROM sqlite_sequence WHERE name = 'webhooks';
DROP TABLE webhooks;
ALTER TABLE webhooks_rebuilt RENAME TO webhooks;

CREATE TRIGGER order_events_webhooks
AFTER INSERT ON order_events
WHEN EXISTS (
    SELECT 1 FROM webhooks w
    WHERE (NEW.kind = 'created' AND w.order_created)
       OR (NEW.kind = 'status_changed' AND w.status_changed)
       OR (NEW.kind = 'edited' AND w.order_updated)
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
    WHERE (NEW.kind = 'created' AND w.order_created)
       OR (NEW.kind = 'status_changed' AND w.status_changed)
       OR (NEW.kind = 'edited' AND w.order_updated)
    ORDER BY w.id;
END;
COMMIT;
PRAGMA foreign_keys = ON;
