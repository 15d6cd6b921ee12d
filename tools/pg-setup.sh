# Sourced inside pg_virtualenv: creates the fluid database and the module's
# role, loads conf/schema.sql, and exports FLUID_DB_CONNINFO for nginx.
# Needs $top (the project root).

fluid_db_setup() {
    local password
    password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

    psql -XqAt -v ON_ERROR_STOP=1 -d postgres <<SQL
CREATE ROLE fluid_hooks LOGIN PASSWORD '$password';
CREATE DATABASE fluid;
SQL

    psql -XqAt -v ON_ERROR_STOP=1 -d fluid -f "$top/conf/schema.sql"

    psql -XqAt -v ON_ERROR_STOP=1 -d fluid <<SQL
GRANT USAGE ON SCHEMA fluid TO fluid_hooks;
GRANT EXECUTE ON FUNCTION fluid.devops_deliver TO fluid_hooks;
SQL

    export PGDATABASE=fluid
    export FLUID_DB_CONNINFO="host=127.0.0.1 port=$PGPORT dbname=fluid user=fluid_hooks password=$password"
}
