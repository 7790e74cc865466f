-- Webhook endpoints, the outbox of their deliveries, and the log of delivery attempts.

CREATE TABLE webhooks (
    id             BIGSERIAL PRIMARY KEY,
    url            TEXT NOT NULL,
    -- The signing key; never shown again after creation.
    secret         TEXT NOT NULL,
    order_created  BOOLEAN NOT NULL,
    status_changed BOOLEAN NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    CHECK (order_created OR status_changed)
);

-- An order event that at least one endpoint subscribed to when it was recorded, with the
-- id its deliveries carry.
CREATE TABLE webhook_events (
    event_id BIGINT PRIMARY KEY REFERENCES order_events (id) ON DELETE CASCADE,
    uuid     UUID NOT NULL DEFAULT gen_random_uuid()
);

CREATE TYPE webhook_delivery_state AS ENUM ('pending', 'delivered', 'expired');

-- One event for one endpoint. `next_attempt_at` is when it is due: at first the event's
-- time, then the retry time, and while an attempt is under way the end of its lease.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        BIGINT NOT NULL REFERENCES webhook_events (event_id) ON DELETE CASCADE,
    order_id        BIGINT NOT NULL,
    state           webhook_delivery_state NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    CHECK ((state = 'pending') = (finished_at IS NULL))
);

-- The workers' scan: due deliveries, oldest first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
    WHERE state = 'pending';
-- Per endpoint and order, only the oldest pending event is due: this finds it.
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (webhook_id, order_id, id)
    WHERE state = 'pending';
-- The purge of finished deliveries, and of events no delivery needs any more.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at)
    WHERE state <> 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Every attempt made, for the admins' delivery log.
CREATE TABLE webhook_attempts (
    id           BIGSERIAL PRIMARY KEY,
    webhook_id   BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_uuid   UUID NOT NULL,
    event_type   TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    attempted_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX webhook_attempts_webhook_idx ON webhook_attempts (webhook_id, id DESC);
CREATE INDEX webhook_attempts_attempted_at_idx ON webhook_attempts (attempted_at);

-- The outbox is written by the database itself, in the statement that records the event:
-- every path that changes an order (a request, an admin, a lifecycle batch, a tool) writes
-- an order_events row, so none can commit a change without its deliveries, and none can
-- record deliveries for a change that rolled back.
CREATE FUNCTION record_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER order_events_webhooks
    AFTER INSERT ON order_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION record_webhook_deliveries();
