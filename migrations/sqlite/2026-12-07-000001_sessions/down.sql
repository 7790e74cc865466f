ALTER TABLE users DROP COLUMN tokens_kept_jti;
ALTER TABLE users DROP COLUMN tokens_valid_after;
