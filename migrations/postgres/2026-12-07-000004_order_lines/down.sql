ALTER TABLE orders
    DROP COLUMN note,
    DROP COLUMN shipping_address,
    DROP COLUMN total,
    DROP COLUMN currency,
    DROP COLUMN lines;
ALTER TABLE products RESET (fillfactor);
