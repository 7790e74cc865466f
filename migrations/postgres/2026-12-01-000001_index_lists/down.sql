DROP INDEX IF EXISTS users_role_id_idx;
DROP INDEX IF EXISTS orders_created_at_idx;
DROP INDEX IF EXISTS orders_status_id_idx;
