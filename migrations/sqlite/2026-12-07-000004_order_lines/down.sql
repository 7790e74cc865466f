ALTER TABLE orders DROP COLUMN note;
ALTER TABLE orders DROP COLUMN shipping_address;
ALTER TABLE orders DROP COLUMN total;
ALTER TABLE orders DROP COLUMN currency;
ALTER TABLE orders DROP COLUMN lines;
