# Sourced around pg_virtualenv: picks a free port for a throwaway cluster,
# creates the fluid database and the module's role in it, loads
# conf/schema.sql, and exports FLUID_DB_CONNINFO for nginx.
# Needs $top (the project root).

# a PostgreSQL port nothing listens on, over TCP or as a Unix socket
fluid_free_port() {
    local p=${1:-5432}
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null \
          || [ -e "/var/run/postgresql/.s.PGSQL.$p" ]; do
        p=$((p + 1))
    done
    echo "$p"
}

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
    export FLUID_DB_PASSWORD=$password
    export FLUID_DB_CONNINFO="host=127.0.0.1 port=$PGPORT dbname=fluid user=fluid_hooks password=$password"
    # the cluster pg_virtualenv made, for pg_ctlcluster
    export FLUID_PG_CLUSTER="$PGVERSION regress"
}

# A second, read-only cluster with the same role, database and schema, for
# multi-host connection strings; exports FLUID_RO_PORT.  Stopped by
# fluid_db_second_cluster_drop.
fluid_db_second_cluster() {
    local password=$1
    FLUID_RO_PORT=$(fluid_free_port $((PGPORT + 1)))
    export FLUID_RO_PORT
    # inside pg_virtualenv's own directory, like its first cluster
    local work
    work=$(dirname "$PG_CLUSTER_CONF_ROOT")
    pg_createcluster -q -p "$FLUID_RO_PORT" -d "$work/data/readonly" \
        -l "$work/log/readonly.log" "$PGVERSION" readonly \
        -- -A trust >/dev/null
    pg_ctlcluster "$PGVERSION" readonly start

    PGPORT=$FLUID_RO_PORT psql -XqAt -v ON_ERROR_STOP=1 -d postgres \
        >/dev/null <<SQL
CREATE ROLE fluid_hooks LOGIN PASSWORD '$password';
CREATE DATABASE fluid;
ALTER SYSTEM SET default_transaction_read_only = on;
SELECT pg_reload_conf();
SQL
}

fluid_db_second_cluster_drop() {
    pg_dropcluster --stop "$PGVERSION" readonly 2>/dev/null || true
}
