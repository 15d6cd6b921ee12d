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

[ $# -gt 0 ] || set -- t/

if [ -z "${TEST_NGINX_USE_VALGRIND:-}" ]; then
    exec prove "${inc[@]}" "$@"
fi

# under valgrind its reports go to stderr; any of them fails the run
log=$(mktemp /tmp/fluid-valgrind.XXXXXX)
rc=0
(set -o pipefail; prove "${inc[@]}" "$@" 2>&1 | tee "$log") || rc=$?
if grep -E '^==[0-9]+== +(Invalid|Conditional|Use of uninitialised|Syscall param|.* definitely lost|.* indirectly lost)' \
        "$log" > "$log.found"; then
    echo "valgrind reported errors or leaks:" >&2
    sort "$log.found" | uniq -c | sed 's/^/    /' >&2
    rc=1
fi
rm -f "$log" "$log.found"
exit "$rc"
