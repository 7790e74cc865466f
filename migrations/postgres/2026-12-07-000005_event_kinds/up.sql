-- What each event of an order's history records (the domain's EventKind): a creation, a
-- change of status, an edit or a shipment; the last two leave the status as it was, so
-- `from_status` and `to_status` cannot tell them apart.
ALTER TABLE order_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'status_changed'
    CHECK (kind IN ('created', 'status_changed', 'edited', 'shipment'));
UPDATE order_events SET kind = 'created' WHERE from_status IS NULL;
-- Every writer names the kind: a forgotten one fails instead of passing for a status change.
ALTER TABLE order_events ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE order_events ADD CONSTRAINT order_events_created_has_no_from
    CHECK ((kind = 'created') = (from_status IS NULL));

-- An edit's event keeps what the order held before it (item_description, lines, currency,
-- total, shipping_address, note, as the orders columns hold them): a delivery or a feed of an
-- earlier event renders the order as that event left it, whatever edits came after.
ALTER TABLE order_events ADD COLUMN replaced JSONB;
-- The edits of each order, for the first edit after an event: a handful of rows, so the
-- lookup every followed event and every delivery makes is a probe of a small index, and
-- its estimated cost stays small too (a lookup costed along every event of an order made
-- the change feed's poll pass PostgreSQL's JIT threshold: 75 ms of compiling a poll).
CREATE INDEX order_events_edits_idx ON order_events (order_id, id) WHERE kind = 'edited';
