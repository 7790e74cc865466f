-- What each event of an order's history records, as PostgreSQL's migration of the same
-- name has it. SQLite adds a NOT NULL column only with a default; every writer names the
-- kind all the same.
ALTER TABLE order_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status_changed'
    CHECK (kind IN ('created', 'status_changed', 'edited', 'shipment'));
UPDATE order_events SET kind = 'created' WHERE from_status IS NULL;

-- An edit's event keeps what the order held before it, as in PostgreSQL (a JSON document).
ALTER TABLE order_events ADD COLUMN replaced TEXT;
