-- As on PostgreSQL: the lines and the address are JSON documents written and read whole
-- with the order, the total and its currency columns.
ALTER TABLE orders ADD COLUMN lines TEXT NOT NULL DEFAULT '[]' CHECK (json_type(lines) = 'array');
ALTER TABLE orders ADD COLUMN currency TEXT CHECK (length(currency) = 3);
ALTER TABLE orders ADD COLUMN total INTEGER CHECK (total >= 0);
ALTER TABLE orders ADD COLUMN shipping_address TEXT CHECK (json_type(shipping_address) = 'object');
ALTER TABLE orders ADD COLUMN note TEXT CHECK (length(note) BETWEEN 1 AND 1000);
