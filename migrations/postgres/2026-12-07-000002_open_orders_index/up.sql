-- OPEN_ORDERS_PER_USER counts a customer's unfinished orders (those with a next step) at
-- every creation: through this index, whatever the customer's finished history.
CREATE INDEX orders_open_by_customer_idx ON orders (customer_id) WHERE next_step_at IS NOT NULL;
