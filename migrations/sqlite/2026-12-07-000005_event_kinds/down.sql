DROP INDEX order_events_edits_idx;
ALTER TABLE order_events DROP COLUMN replaced;
ALTER TABLE order_events DROP COLUMN kind;
