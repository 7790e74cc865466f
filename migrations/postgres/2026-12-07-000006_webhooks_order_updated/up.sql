-- Endpoints may hear edits (`order.updated`); what they hear is chosen by the event's kind.
ALTER TABLE webhooks ADD COLUMN order_updated BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE webhooks DROP CONSTRAINT webhooks_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_hear_something
    CHECK (order_created OR status_changed OR order_updated);

CREATE OR REPLACE FUNCTION record_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (event_id)
    SELECT n.id FROM new_events n
    WHERE EXISTS (
        SELECT 1 FROM webhooks w
        WHERE (n.kind = 'created' AND w.order_created)
           OR (n.kind = 'status_changed' AND w.status_changed)
           OR (n.kind = 'edited' AND w.order_updated)
    );
    INSERT INTO webhook_deliveries (webhook_id, event_id, order_id, next_attempt_at)
    SELECT w.id, n.id, n.order_id, n.created_at
    FROM new_events n
    JOIN webhooks w ON (n.kind = 'created' AND w.order_created)
                    OR (n.kind = 'status_changed' AND w.status_changed)
                    OR (n.kind = 'edited' AND w.order_updated)
    ORDER BY n.id, w.id;
    RETURN NULL;
END
$$;
