DROP INDEX orders_searched_text_idx;
ALTER TABLE orders DROP COLUMN searched_text;
DROP FUNCTION order_searched_text(TEXT, JSONB);
