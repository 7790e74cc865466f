ALTER TABLE order_events DROP COLUMN replaced;
ALTER TABLE order_events DROP COLUMN kind;
