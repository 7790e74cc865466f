CREATE TYPE order_status AS ENUM ('created', 'dispatched', 'in_transit', 'delivered', 'cancelled');

CREATE TABLE orders (
    id               BIGSERIAL PRIMARY KEY,
    customer_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_description TEXT NOT NULL,
    status           order_status NOT NULL DEFAULT 'created',
    -- Bumped by every change: compare-and-set and the versioned cache rely on it.
    version          BIGINT NOT NULL DEFAULT 1,
    -- When the order advances by itself; NULL once it is terminal.
    next_step_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status IN ('delivered', 'cancelled')) = (next_step_at IS NULL))
);

-- GET /my-orders: a customer's orders, newest first.
CREATE INDEX orders_customer_id_id_idx ON orders (customer_id, id DESC);
-- The lifecycle scan only ever looks at orders still in flight.
CREATE INDEX orders_due_idx ON orders (next_step_at) WHERE next_step_at IS NOT NULL;

CREATE TYPE order_actor AS ENUM ('system', 'customer', 'admin');

CREATE TABLE order_events (
    id          BIGSERIAL PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status order_status,
    to_status   order_status NOT NULL,
    actor       order_actor NOT NULL,
    actor_id    BIGINT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX order_events_order_id_idx ON order_events (order_id, id);
