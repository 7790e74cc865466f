#!/bin/sh
# Runs once, when the PostgreSQL container initialises an empty data directory: creates
# the role the service connects as, without superuser rights, and hands it the database
# (so that it can apply its migrations), then nothing else.
set -eu

: "${TRACHIOS_DB_USER:?TRACHIOS_DB_USER is not set}"
: "${TRACHIOS_DB_PASSWORD:?TRACHIOS_DB_PASSWORD is not set}"
if [ "$TRACHIOS_DB_USER" = "$POSTGRES_USER" ]; then
    echo "init-app-role: the service's role must not be the superuser $POSTGRES_USER" >&2
    exit 1
fi

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_user="$TRACHIOS_DB_USER" \
    -v app_password="$TRACHIOS_DB_PASSWORD" \
    -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER DATABASE :"db" OWNER TO :"app_user";
-- Only the service (and the superuser) may connect to its database.
REVOKE CONNECT, TEMPORARY ON DATABASE :"db" FROM PUBLIC;
SQL
