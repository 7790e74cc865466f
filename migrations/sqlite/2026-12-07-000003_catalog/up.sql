-- The catalog, as PostgreSQL's migration of the same name has it. The search by substring
-- is an FTS5 table with the trigram tokenizer over names and skus, kept in step by triggers
-- in the same transaction as every change of a product.

CREATE TABLE products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sku         TEXT NOT NULL CHECK (length(sku) BETWEEN 1 AND 64 AND sku NOT GLOB '*[^A-Za-z0-9._-]*'),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price       INTEGER NOT NULL CHECK (price BETWEEN 0 AND 1000000000000),
    currency    TEXT NOT NULL CHECK (length(currency) = 3 AND currency NOT GLOB '*[^A-Z]*'),
    stock       INTEGER NOT NULL CHECK (stock BETWEEN 0 AND 1000000000),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- One sku whatever its case; also serves a search by sku prefix (a range on lower(sku)).
CREATE UNIQUE INDEX products_sku_key ON products (lower(sku));
CREATE INDEX products_active_idx ON products (id DESC) WHERE active = 1;

CREATE VIRTUAL TABLE products_search USING fts5(
    name, sku, content = 'products', content_rowid = 'id', tokenize = 'trigram'
);

CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_search (rowid, name, sku) VALUES (new.id, new.name, new.sku);
END;

CREATE TRIGGER products_search_update AFTER UPDATE OF name, sku ON products BEGIN
    INSERT INTO products_search (products_search, rowid, name, sku)
        VALUES ('delete', old.id, old.name, old.sku);
    INSERT INTO products_search (rowid, name, sku) VALUES (new.id, new.name, new.sku);
END;

CREATE TABLE stock_movements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    delta       INTEGER NOT NULL CHECK (delta <> 0),
    stock_after INTEGER NOT NULL CHECK (stock_after >= 0),
    reason      TEXT NOT NULL
                CHECK (reason IN ('adjustment', 'order', 'order_edit', 'order_cancel', 'order_reinstated')),
    order_id    INTEGER REFERENCES orders (id),
    note        TEXT,
    actor       TEXT NOT NULL CHECK (actor IN ('system', 'customer', 'admin')),
    actor_id    INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX stock_movements_product_idx ON stock_movements (product_id, id DESC);
CREATE INDEX stock_movements_order_idx ON stock_movements (order_id) WHERE order_id IS NOT NULL;
