CREATE INDEX products_sku_trgm_idx ON products USING gin (lower(sku) gin_trgm_ops);
DROP INDEX products_sku_suffix_idx;
DROP FUNCTION sku_suffixes(text);
