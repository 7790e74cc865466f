-- A substring of a sku is the start of one of its suffixes, so an index of every suffix
-- answers `GET /products?q=` by a range of its keys as long as the answer. The trigram
-- index it replaces cost what the commonest trigrams cost: where skus share a prefix
-- (`SKU-…`) or runs of zeros, those trigrams name nearly every product, and finding one
-- sku among a million read megabytes of posting lists. A tsvector carries the suffixes
-- because GIN matches a tsquery's `:*` by the prefix of its keys.
CREATE FUNCTION sku_suffixes(sku text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN array_to_tsvector(ARRAY(
    SELECT substr(lower(sku), i) FROM generate_series(1, length(sku)) AS i
));

CREATE INDEX products_sku_suffix_idx ON products USING gin (sku_suffixes(sku));
DROP INDEX products_sku_trgm_idx;
