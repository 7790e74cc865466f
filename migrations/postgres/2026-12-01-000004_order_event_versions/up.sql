-- Every event records the version its change produced and the due time it set, so that
-- the order as the change left it can be read back from the event: each process follows
-- this table (in id order) to feed its live streams.
ALTER TABLE order_events ADD COLUMN version BIGINT, ADD COLUMN next_step_at TIMESTAMPTZ;

-- Every change bumps the version by one and writes one event, the creation being version 1.
UPDATE order_events e SET version = numbered.version
FROM (
    SELECT id, row_number() OVER (PARTITION BY order_id ORDER BY id) AS version
    FROM order_events
) numbered
WHERE numbered.id = e.id;

ALTER TABLE order_events ALTER COLUMN version SET NOT NULL;
