-- GET /orders?q= (see the PostgreSQL migration of the same name): an FTS5 table with the
-- trigram tokenizer (case-insensitive) over each order's item description and its lines'
-- skus and names, one per line, kept in step by triggers in the same transaction as every
-- change of an order's contents.
CREATE VIRTUAL TABLE orders_search USING fts5(searched_text, tokenize = 'trigram');

INSERT INTO orders_search (rowid, searched_text)
SELECT id, item_description || coalesce(
    (SELECT group_concat(char(10) || json_extract(value, '$.sku') || char(10) || json_extract(value, '$.name'), '')
     FROM json_each(orders.lines)),
    '')
FROM orders;

CREATE TRIGGER orders_search_insert AFTER INSERT ON orders BEGIN
    INSERT INTO orders_search (rowid, searched_text) VALUES (new.id, new.item_description || coalesce(
        (SELECT group_concat(char(10) || json_extract(value, '$.sku') || char(10) || json_extract(value, '$.name'), '')
         FROM json_each(new.lines)),
        ''));
END;

CREATE TRIGGER orders_search_update AFTER UPDATE OF item_description, lines ON orders BEGIN
    UPDATE orders_search SET searched_text = new.item_description || coalesce(
        (SELECT group_concat(char(10) || json_extract(value, '$.sku') || char(10) || json_extract(value, '$.name'), '')
         FROM json_each(new.lines)),
        '')
    WHERE rowid = new.id;
END;

CREATE TRIGGER orders_search_delete AFTER DELETE ON orders BEGIN
    DELETE FROM orders_search WHERE rowid = old.id;
END;
