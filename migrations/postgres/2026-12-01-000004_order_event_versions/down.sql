ALTER TABLE order_events DROP COLUMN version, DROP COLUMN next_step_at;
