DROP TABLE bulk_request_keys;
