-- The catalog: products with a price and a stock, and the ledger of every stock movement.
-- pg_trgm serves `GET /products?q=` (a substring of a name or sku) from an index; it is a
-- trusted extension, so the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE products (
    id          BIGSERIAL PRIMARY KEY,
    sku         TEXT NOT NULL CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    description TEXT NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    price       BIGINT NOT NULL CHECK (price BETWEEN 0 AND 1000000000000),
    currency    TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Never below zero, whatever runs at once: the last guard under the guarded updates.
    stock       BIGINT NOT NULL CHECK (stock BETWEEN 0 AND 1000000000),
    active      BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- One sku whatever its case; text_pattern_ops also serves a search by sku prefix.
CREATE UNIQUE INDEX products_sku_key ON products (lower(sku) text_pattern_ops);
CREATE INDEX products_name_trgm_idx ON products USING gin (lower(name) gin_trgm_ops);
CREATE INDEX products_sku_trgm_idx ON products USING gin (lower(sku) gin_trgm_ops);
CREATE INDEX products_active_idx ON products (id DESC) WHERE active;

CREATE TABLE stock_movements (
    id          BIGSERIAL PRIMARY KEY,
    product_id  BIGINT NOT NULL REFERENCES products (id),
    delta       BIGINT NOT NULL CHECK (delta <> 0),
    stock_after BIGINT NOT NULL CHECK (stock_after >= 0),
    reason      TEXT NOT NULL
                CHECK (reason IN ('adjustment', 'order', 'order_edit', 'order_cancel', 'order_reinstated')),
    order_id    BIGINT REFERENCES orders (id),
    note        TEXT,
    actor       order_actor NOT NULL,
    actor_id    BIGINT,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX stock_movements_product_idx ON stock_movements (product_id, id DESC);
CREATE INDEX stock_movements_order_idx ON stock_movements (order_id) WHERE order_id IS NOT NULL;
