-- An order keeps what was sold, as it was sold: its lines (product, sku, name, quantity and
-- prices at that moment) are one document written and read whole with the order, so that
-- reading an order stays one row whatever it holds. The total and its currency are columns
-- for reports; the address is a document like the lines.
ALTER TABLE orders
    ADD COLUMN lines JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(lines) = 'array'),
    ADD COLUMN currency TEXT CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN total BIGINT CHECK (total >= 0),
    ADD COLUMN shipping_address JSONB CHECK (jsonb_typeof(shipping_address) = 'object'),
    ADD COLUMN note TEXT CHECK (char_length(note) BETWEEN 1 AND 1000),
    ADD CONSTRAINT orders_total_currency CHECK ((total IS NULL) = (currency IS NULL));

-- Every order now updates its products' stock. With room left on each page, PostgreSQL
-- keeps the new row version on the same page and skips every index (a HOT update: stock
-- and updated_at are in no index), instead of writing to the sku, name and trigram
-- indexes for each unit sold.
ALTER TABLE products SET (fillfactor = 50);
