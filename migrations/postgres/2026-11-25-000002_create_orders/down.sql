DROP TABLE order_events;
DROP TYPE order_actor;
DROP TABLE orders;
DROP TYPE order_status;
