DROP TABLE stock_movements;
DROP TRIGGER products_search_update;
DROP TRIGGER products_search_insert;
DROP TABLE products_search;
DROP TABLE products;
