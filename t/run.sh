#!/usr/bin/env bash
# Runs the Test::Nginx suite against a throwaway PostgreSQL cluster that
# pg_virtualenv starts for the run and removes afterwards.  With
# TEST_NGINX_LIB=<dir> the suite runs on the Test::Nginx found in <dir>
# instead of the bundled one in t/lib.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${FLUID_TEST_INSIDE:-}" ]; then
    export FLUID_TEST_INSIDE=1
    # shellcheck source=tools/pg-setup.sh
    . "$top/tools/pg-setup.sh"
    PGPORT=$(fluid_free_port 5432)
    export PGPORT
    exec pg_virtualenv -t -o max_connections=200 "$0" "$@"
fi

# shellcheck source=tools/pg-setup.sh
. "$top/tools/pg-setup.sh"
fluid_db_setup
trap fluid_db_second_cluster_drop EXIT
fluid_db_second_cluster "$FLUID_DB_PASSWORD"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_FLUID_MODULE=$top/objs/ngx_http_fluid_devops_module.so
export TEST_NGINX_FLUID_DB=$FLUID_DB_CONNINFO
export TEST_NGINX_FLUID_DB_PASSWORD=$FLUID_DB_PASSWORD
export TEST_NGINX_FLUID_DB_PORT=$PGPORT
export TEST_NGINX_FLUID_RO_PORT=$FLUID_RO_PORT
export TEST_NGINX_SERVROOT=${TEST_NGINX_SERVROOT:-$top/t/servroot}

cd "$top"

inc=(-I "$top/t/lib")
if [ -n "${TEST_NGINX_LIB:-}" ]; then
    lib=$TEST_NGINX_LIB
    # a test-nginx checkout, or its lib directory itself
    [ -f "$lib/lib/Test/Nginx/Socket.pm" ] && lib=$lib/lib
    [ -f "$lib/Test/Nginx/Socket.pm" ] || {
        echo "run.sh: no Test/Nginx/Socket.pm in $TEST_NGINX_LIB" >&2
        exit 1
    }
    inc=(-I "$lib" -I "$top/t/lib")
fi

if [ $# -gt 0 ]; then
    prove "${inc[@]}" "$@"
else
    prove "${inc[@]}" t/
fi
