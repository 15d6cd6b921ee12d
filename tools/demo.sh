#!/usr/bin/env bash
# The main job on a throwaway database: nginx with the module and the
# example configuration receives the shared DevOps samples, as DevOps sends
# them, and the resulting cards are shown.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
samples=${FLUID_SAMPLES:-$top/t/samples}
port=${FLUID_DEMO_PORT:-8080}

# pg_virtualenv starts a cluster, runs this script again inside, removes it
if [ -z "${FLUID_DEMO_INSIDE:-}" ]; then
    export FLUID_DEMO_INSIDE=1
    # shellcheck source=tools/pg-setup.sh
    . "$top/tools/pg-setup.sh"
    PGPORT=$(fluid_free_port 5432)
    export PGPORT
    exec pg_virtualenv -t "$0" "$@"
fi

# shellcheck source=tools/pg-setup.sh
. "$top/tools/pg-setup.sh"

prefix=$(mktemp -d /tmp/fluid-demo.XXXXXX)
trap 'stop_nginx; rm -rf "$prefix"' EXIT

stop_nginx() {
    if [ -f "$prefix/logs/nginx.pid" ]; then
        nginx -p "$prefix" -c conf/nginx.conf -s quit 2>/dev/null || true
        sleep 0.5
    fi
}

write_nginx_conf() {
    mkdir -p "$prefix/conf" "$prefix/logs"
    # the example configuration, pointed at the throwaway database and port
    sed -e "s|^fluid_devops_database .*|fluid_devops_database \"$FLUID_DB_CONNINFO\";|" \
        -e "s|listen 8080;|listen 127.0.0.1:$port;|" \
        "$top/conf/fluid-devops.conf" > "$prefix/conf/fluid-devops.conf"

    cat > "$prefix/conf/nginx.conf" <<CONF
load_module $top/objs/ngx_http_fluid_devops_module.so;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log logs/access.log;
    include fluid-devops.conf;
}
CONF
}

deliver() {
    local sample=$1 token=$2
    local url="http://127.0.0.1:$port/api/integrations/devops/692/1108"
    echo "POST $(basename "$sample")"
    curl -sS -o "$prefix/body" -w '  status %{http_code}\n' \
        -u "david.burt:$token" \
        -H 'Content-Type: application/json; charset=utf-8' \
        --data-binary "@$sample" "$url"
    printf '  body   %s\n' "$(cat "$prefix/body")"
}

show_cards() {
    echo
    echo "fluid.cards now holds:"
    psql -X -d fluid -P pager=off -c "SELECT id, board_id, card_type, title,
        state, priority, assigned_to, tags, devops_work_item_id
        FROM fluid.cards ORDER BY id"
}

fluid_db_setup
psql -XqAt -v ON_ERROR_STOP=1 -d fluid -f "$top/conf/demo-data.sql"

# "Generate Personal Access Token" for the sender account
token=$(psql -XAt -d fluid \
        -c "SELECT fluid.issue_personal_access_token('david.burt')")

write_nginx_conf
nginx -p "$prefix" -c conf/nginx.conf -t 2>&1 | sed 's/^/  /'
nginx -p "$prefix" -c conf/nginx.conf

echo
echo "cards before the deliveries:"
psql -X -d fluid -P pager=off -c \
    "SELECT id, title, devops_work_item_id FROM fluid.cards ORDER BY id"

for s in workitem.created.task.json workitem.created.minimal.json \
         workitem.deleted.task.json workitem.created.task.json; do
    deliver "$samples/$s" "$token"
done

echo "POST workitem.created.task.json with a wrong token"
curl -sS -o "$prefix/body" -w '  status %{http_code}\n' \
    -u "david.burt:not-the-token" -H 'Content-Type: application/json' \
    --data-binary "@$samples/workitem.created.task.json" \
    "http://127.0.0.1:$port/api/integrations/devops/692/1108"
printf '  body   %s\n' "$(cat "$prefix/body")"

show_cards

echo "error log (refusals and warnings):"
grep -E '\[(info|notice|warn|error|crit|alert|emerg)\]' \
    "$prefix/logs/error.log" | grep 'fluid devops' | sed 's/^/  /' || true
