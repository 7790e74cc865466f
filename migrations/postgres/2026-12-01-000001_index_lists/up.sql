-- Every list is a keyset page over descending ids; each filter has an index that yields
-- its rows already in that order, so a page costs the same whatever the table's size.
-- On a large live table, create these by hand first with CREATE INDEX CONCURRENTLY (same
-- names); this migration then finds them and does nothing.

-- GET /orders?status=…: an index scan per status, newest first.
CREATE INDEX IF NOT EXISTS orders_status_id_idx ON orders (status, id DESC);
-- created_after / created_before bounds narrow to a range of this index.
CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at);
-- GET /users?role=…
CREATE INDEX IF NOT EXISTS users_role_id_idx ON users (role, id DESC);
