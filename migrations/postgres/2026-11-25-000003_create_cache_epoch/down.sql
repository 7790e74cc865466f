DROP TABLE cache_epoch;
