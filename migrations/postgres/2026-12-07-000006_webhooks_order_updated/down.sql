CREATE OR REPLACE FUNCTION record_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (event_id)
    SELECT n.id FROM new_events n
    WHERE EXISTS (
        SELECT 1 FROM webhooks w
        WHERE (n.from_status IS NULL AND w.order_created)
           OR (n.from_status IS NOT NULL AND w.status_changed)
    );
    INSERT INTO webhook_deliveries (webhook_id, event_id, order_id, next_attempt_at)
    SELECT w.id, n.id, n.order_id, n.created_at
    FROM new_events n
    JOIN webhooks w ON (n.from_status IS NULL AND w.order_created)
                    OR (n.from_status IS NOT NULL AND w.status_changed)
    ORDER BY n.id, w.id;
    RETURN NULL;
END
$$;
DELETE FROM webhooks WHERE NOT (order_created OR status_changed);
ALTER TABLE webhooks DROP CONSTRAINT webhooks_hear_something;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_check CHECK (order_created OR status_changed);
ALTER TABLE webhooks DROP COLUMN order_updated;
