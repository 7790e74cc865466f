-- GET /orders?q=: a substring (3+ characters) of an order's item description or of a line's
-- sku or name. The text searched is OrderSearch::searched_text's: the item description, then
-- each line's sku and name, each on a line of its own, lower case. It is a stored column, not
-- an expression index, so that a walk of the primary key (what the planner picks for a piece
-- that most orders hold) compares text instead of taking each row's lines apart.
CREATE FUNCTION order_searched_text(item TEXT, lines JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(item) || coalesce(
        (SELECT string_agg(E'\n' || lower(line->>'sku') || E'\n' || lower(line->>'name'), ''
                           ORDER BY position)
         FROM jsonb_array_elements(lines) WITH ORDINALITY AS l (line, position)),
        '')
$$;

ALTER TABLE orders ADD COLUMN searched_text TEXT NOT NULL
    GENERATED ALWAYS AS (order_searched_text(item_description, lines)) STORED;

CREATE INDEX IF NOT EXISTS orders_searched_text_idx ON orders USING gin (searched_text gin_trgm_ops);
