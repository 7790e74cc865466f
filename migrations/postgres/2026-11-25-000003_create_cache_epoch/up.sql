-- A random identity of this database, stamped on every cache entry: entries written for
-- another database (a dropped and recreated one, another deployment sharing the Redis)
-- are then misses instead of orders that happen to have the same id.
CREATE TABLE cache_epoch (
    singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch     TEXT NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text)
);

INSERT INTO cache_epoch DEFAULT VALUES;
