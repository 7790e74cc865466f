-- What each event of an order's history records, as PostgreSQL's migration of the same
-- name has it. SQLite adds a NOT NULL column only with a default; every writer names the
-- kind all the same.
ALTER TABLE order_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status_changed'
    CHECK (kind IN ('created', 'status_changed', 'edited', 'shipment'));
UPDATE order_events SET kind = 'created' WHERE from_status IS NULL;

-- An edit's event keeps what the order held before it, as in PostgreSQL (a JSON document).
ALTER TABLE order_events ADD COLUMN replaced TEXT;
-- The edits of each order, for the first edit after an event: a handful of rows, so the
-- lookup every followed event and every delivery makes is a probe of a small index, and
-- its estimated cost stays small too (a lookup costed along every event of an order made
-- the change feed's poll pass PostgreSQL's JIT threshold: 75 ms of compiling a poll).
CREATE INDEX order_events_edits_idx ON order_events (order_id, id) WHERE kind = 'edited';
