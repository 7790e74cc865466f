-- Every token of the account issued before this instant (microseconds since the epoch) is
-- refused (log out everywhere, a password change, disabling), except the one named by
-- tokens_kept_jti: the token that changed the password keeps working.
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER;
ALTER TABLE users ADD COLUMN tokens_kept_jti TEXT;
