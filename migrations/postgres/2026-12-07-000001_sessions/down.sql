ALTER TABLE users DROP COLUMN tokens_valid_after, DROP COLUMN tokens_kept_jti;
