#!/usr/bin/env bash
# Benchmarks the module side by side with its database ceiling (pgbench), a Node.js receiver and nginx's HTTP ceiling on one throwaway cluster, and writes t/bench/results.md.
set -eu

bench=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$bench/../.." && pwd)

seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
levels=${BENCH_LEVELS:-1 16 64}
rss_deliveries=${BENCH_RSS_DELIVERIES:-200000}
size_concurrency=16
sizes=${BENCH_SIZES:-10000 1000000}
sample=$top/t/samples/workitem.created.task.json
url_path=/api/integrations/devops/692/1108
# the same for every case: defaults, durability on, room for the pools
pg_options=(-o fsync=on -o synchronous_commit=on -o max_connections=150)
card_cols="card_type, title, description, state, priority, assigned_to, tags,
devops_project, devops_url, devops_fields, created_by_user_id"
# ids of one run: run * 1e11 + (wrk thread | pgbench client) * 1e8 + n
run_step=100000000000

die() {
    echo "bench: $*" >&2
    exit 1
}

node_install() {
    local dir=$bench/node
    if [ ! -f "$dir/node_modules/.package-lock.json" ] \
       || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]
    then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# shellcheck source=tools/pg-setup.sh
. "$top/tools/pg-setup.sh"

# before the cluster exists: packages, npm, then pg_virtualenv runs us again
outside() {
    "$bench/deps.sh"
    node_install
    BENCH_STARTED=$(date +%s)
    PGPORT=$(fluid_free_port 5432)
    export BENCH_INSIDE=1 BENCH_STARTED PGPORT
    pg_virtualenv -t "${pg_options[@]}" "$0" "$@"
    echo "make bench took $(( $(date +%s) - BENCH_STARTED )) s"
}

sql() {
    psql -XqAt -v ON_ERROR_STOP=1 -d fluid "$@"
}

# the columns of card_cols, each prefixed with an alias
cols_of() {
    echo "$card_cols" | sed "s/\([a-z_][a-z_]*\)/$1.\1/g" | tr '\n' ' '
}

check_durability() {
    local v
    v=$(sql -c "SELECT current_setting('fsync') || current_setting('synchronous_commit')")
    [ "$v" = onon ] || die "fsync/synchronous_commit are not both on ($v)"
}

db_prepare() {
    sql -f "$top/conf/demo-data.sql"
    token=$(sql -c "SELECT fluid.issue_personal_access_token('david.burt')")
    auth="Basic $(printf '%s' "david.burt:$token" | base64 -w0)"
    hooks_password=${FLUID_DB_PASSWORD:-$(echo "$FLUID_DB_CONNINFO" \
                    | sed -n 's/.*password=\([^ ]*\).*/\1/p')}
    sql -c "CREATE SCHEMA bench"
    check_durability
}

# the statement's parameters for pgbench, from the sample as the module reads it
pgbench_params() {
    local kv
    pgbench_defs=()
    while IFS= read -r -d '' kv; do
        pgbench_defs+=(-D "$kv")
    done < <(node "$bench/node/params.js" "$sample" david.burt "$token" 692 1108)
    [ "${#pgbench_defs[@]}" = 32 ] || die "params.js gave ${#pgbench_defs[@]} items"
}

# TRUNCATE, optionally pre-fill with copies of the reference card, VACUUM
fresh_table() {
    local prefill=${1:-0}
    sql -c "TRUNCATE fluid.cards"
    if [ "$prefill" -gt 0 ]; then
        sql -c "INSERT INTO fluid.cards (board_id, $card_cols, devops_work_item_id)
                SELECT 1108, r.*, g FROM bench.ref r, generate_series(1, $prefill) g"
    fi
    sql -c "VACUUM ANALYZE fluid.cards"
    sql -c "CHECKPOINT"
}

# "count|rows that differ from the reference card"
card_check() {
    sql -c "SELECT count(*), count(*) FILTER (WHERE ROW($(cols_of c))
                IS DISTINCT FROM ROW($(cols_of r)))
            FROM fluid.cards c, bench.ref r" | tr -d ' '
}

nginx_site() {
    local kind=$1
    if [ "$kind" = module ]; then
        sed -e "s|^fluid_devops_database .*|fluid_devops_database \"$FLUID_DB_CONNINFO\";|" \
            -e "s|listen 8080;|listen 127.0.0.1:$port;|" "$top/conf/fluid-devops.conf"
    else
        sed -e '/^fluid_devops_database /d' -e '/fluid_devops_workspace\|fluid_devops_board/d' \
            -e "s|fluid_devops_webhook;|return 200 '{\"status\":\"created\",\"card_id\":1}\\\\n';|" \
            -e "s|listen 8080;|listen 127.0.0.1:$port;|" "$top/conf/fluid-devops.conf"
    fi
}

# nginx.conf for "module" or "http" with that many workers and pool size
nginx_conf() {
    local kind=$1 workers=$2 pool=$3 load="" pool_line=""
    mkdir -p "$prefix/conf" "$prefix/logs"
    nginx_site "$kind" > "$prefix/conf/site.conf"
    if [ "$kind" = module ]; then
        load="load_module $prefix/module.so;"
        pool_line="fluid_devops_pool_size $pool;"
    fi
    cat > "$prefix/conf/nginx.conf" <<CONF
$load
worker_processes $workers;
error_log logs/$case_name.error.log info;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    $pool_line
    include site.conf;
}
CONF
}

wait_port() {
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    die "nothing answers on port $port ($case_name)"
}

nginx_start() {
    nginx -p "$prefix" -e "$prefix/logs/startup.log" -c conf/nginx.conf \
        || die "nginx did not start ($case_name); see $prefix/logs"
    server_pid=$(cat "$prefix/logs/nginx.pid")
    wait_port
}

nginx_stop() {
    local i pid
    pid=$(cat "$prefix/logs/nginx.pid")
    kill -QUIT "$pid"
    server_pid=
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
}

node_start() {
    local workers=$1 pool=$2
    PGHOST=127.0.0.1 PGDATABASE=fluid PGUSER=fluid_hooks PGPASSWORD=$hooks_password \
    BENCH_PORT=$port BENCH_WORKERS=$workers BENCH_POOL=$pool \
        node "$bench/node/server.js" > "$prefix/logs/$case_name.node.log" 2>&1 &
    node_pid=$!
    server_pid=$node_pid
    wait_port
}

node_stop() {
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
    node_pid=
    server_pid=
}

# CPU ticks (user + system, reaped children included) of a process and its descendants
tree_ticks() {
    [ "${1:-0}" != 0 ] || { echo 0; return; }
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        { pid = $1; line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " ")
          parent[pid] = f[2]; ticks[pid] = f[12] + f[13] + f[14] + f[15] }
        END { for (p in ticks) { q = p
                  while (q != root && (q in parent)) q = parent[q]
                  if (q == root) sum += ticks[p] }
              print sum + 0 }'
}

cpu_mark() {
    c_server=$(tree_ticks "${server_pid:-0}")
    c_pg=$(tree_ticks "$pg_pid")
}

# "load / server / PostgreSQL" CPU ms per delivery since cpu_mark; load from load.time
cpu_note() {
    local n=$1 server pg
    server=$(( $(tree_ticks "${server_pid:-0}") - c_server ))
    pg=$(( $(tree_ticks "$pg_pid") - c_pg ))
    awk -v n="$n" -v s="$server" -v p="$pg" -v k="$(getconf CLK_TCK)" '
        { if (n < 1) n = 1
          printf "%.2f / %.2f / %.2f", ($1 + $2) * 1000 / n, s * 1000 / k / n, p * 1000 / k / n }' \
        "$prefix/load.time"
}

# "1 worker", "2 workers": count, singular, plural
plural() {
    if [ "$1" = 1 ]; then echo "1 $2"; else echo "$1 $3"; fi
}

# min(n, 2) threads, as many as there are cores
threads_for() {
    echo $(( $1 < 2 ? $1 : 2 ))
}

# one wrk run; sets w_dur w_ok w_other w_sock w_p50 w_p99 w_codes w_cpu
wrk_run() {
    local conns=$1 secs=$2 line TIMEFORMAT="%U %S"
    run_no=$((run_no + 1))
    cpu_mark
    { time wrk -t "$(threads_for "$conns")" -c "$conns" -d "${secs}s" --timeout 10s \
        -s "$bench/deliver.lua" "http://127.0.0.1:$port$url_path" \
        -- "$sample" "$((run_no * run_step))" "$auth" > "$prefix/wrk.out" 2>&1; } 2> "$prefix/load.time" \
        || die "wrk failed ($case_name): $(cat "$prefix/wrk.out")"
    line=$(grep '^BENCH' "$prefix/wrk.out") || die "no result from wrk ($case_name)"
    IFS=$'\t' read -r _ w_dur w_ok w_other w_sock w_p50 w_p99 w_codes <<< "$line"
    w_cpu=$(cpu_note "$w_ok")
}

# p50 and p99 of sorted numbers, nearest rank
percentiles() {
    awk '{ v[NR] = $1 }
         END { i = int(NR * 0.5 + 0.999999); j = int(NR * 0.99 + 0.999999)
               print v[i < 1 ? 1 : i], v[j < 1 ? 1 : j] }'
}

# one pgbench run; sets p_tps p_txns p_failed p_p50 p_p99 (microseconds) p_cpu
pgbench_run() {
    local conns=$1 secs=$2 out=$prefix/pgbench.out TIMEFORMAT="%U %S"
    run_no=$((run_no + 1))
    rm -rf "$prefix/pgb" && mkdir "$prefix/pgb"
    cpu_mark
    { time PGUSER=fluid_hooks PGPASSWORD=$hooks_password \
    pgbench -n -M prepared -h 127.0.0.1 -c "$conns" -j "$(threads_for "$conns")" \
        -T "$secs" -f "$bench/deliver.pgbench" -D n=0 -D base=$((run_no * run_step)) \
        "${pgbench_defs[@]}" -l --log-prefix="$prefix/pgb/log" fluid > "$out" 2>&1; } 2> "$prefix/load.time" \
        || die "pgbench failed: $(cat "$out")"
    p_tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out")
    p_txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    p_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
    p_cpu=$(cpu_note "$p_txns")
    read -r p_p50 p_p99 < <(cat "$prefix"/pgb/log* | awk '{ print $3 }' | sort -n | percentiles)
}

# warn-and-above lines of this case's error log, counted by level
log_levels() {
    local file=$prefix/logs/$case_name.error.log
    [ -f "$file" ] || return 0
    grep -oE '\[(emerg|alert|crit|error|warn)\]' "$file" | sort | uniq -c \
        | awk '{ printf "%s%d %s", s, $1, substr($2, 2, length($2) - 2); s = ", " }'
}

# distinct warn-and-above messages of this case, for the notes under the table
log_messages() {
    local file=$prefix/logs/$case_name.error.log
    [ -f "$file" ] || return 0
    grep -E '\[(emerg|alert|crit|error|warn)\]' "$file" \
        | sed -E 's/^[0-9\/]+ [0-9:]+ //; s/ [0-9]+#[0-9]+: (\*[0-9]+ )?/ /; s/, client: .*//' \
        | sort | uniq -c | sort -rn | head -5 \
        | sed "s|^|$case_name: |" >> "$prefix/log-notes" || true
}

# ", error log: ..." for this case (an error or worse is a problem), and the Node.js log
log_note() {
    local lv node=$prefix/logs/$case_name.node.log
    lv=$(log_levels)
    if [ -n "$lv" ]; then
        printf ', error log: %s' "$lv"
        log_messages
        case $lv in *error*|*crit*|*alert*|*emerg*) problem "error log: $lv" ;; esac
    fi
    if [ -s "$node" ]; then
        printf ', node log: %s lines' "$(wc -l < "$node")"
        problem "node log: $(head -3 "$node" | tr '\n' ' ')"
    fi
}

problem() {
    echo "$case_name: $*" >> "$prefix/problems"
}

# "cards N" note; flags missing, surplus or differing cards
cards_note() {
    local expect=$1 slack=$2 prefill=${3:-0} count differ written
    IFS='|' read -r count differ <<< "$(card_check)"
    written=$((count - prefill))
    [ "$differ" = 0 ] || problem "$differ cards differ from the reference card"
    if [ "$written" -lt "$expect" ] || [ "$written" -gt $((expect + slack)) ]; then
        problem "$written cards written for $expect successes"
    fi
    echo "cards $written"
}

# a table row: concurrency key label rate p50_us p99_us errors cpu notes
row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$prefix/rows"
}

# the row of the last wrk run; with cards unless it was the HTTP ceiling
record_http() {
    local conc=$1 key=$2 label=$3 prefill=${4:-0} rate errors notes
    rate=$(awk -v n="$w_ok" -v d="$w_dur" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
    errors=$((w_other + w_sock))
    notes="2xx $w_ok"
    [ "$errors" = 0 ] || { notes="$notes, answers $w_codes, socket errors $w_sock"
                           problem "$errors errors (answers $w_codes, socket $w_sock)"; }
    [ "$key" = http ] || notes="$notes, $(cards_note "$w_ok" "$conc" "$prefill")"
    notes="$notes$(log_note)"
    row "$conc" "$key" "$label" "$rate" "$w_p50" "$w_p99" "$errors" "$w_cpu" "$notes"
}

# warm up, start from an empty (or pre-filled) table, measure
measure_http() {
    local conc=$1 key=$2 label=$3 prefill=${4:-0}
    wrk_run "$conc" "$warmup"
    sleep 1  # let the warm-up's last deliveries land before the TRUNCATE
    fresh_table "$prefill"
    wrk_run "$conc" "$seconds"
    record_http "$conc" "$key" "$label" "$prefill"
}

case_ceiling() {
    local conc=$1 errors notes
    case_name=c$conc-pgbench
    pgbench_run "$conc" "$warmup"
    fresh_table
    pgbench_run "$conc" "$seconds"
    errors=${p_failed:-0}
    [ "$errors" = 0 ] || problem "$errors failed transactions"
    notes="transactions $p_txns, $(cards_note "$p_txns" "$conc")"
    row "$conc" ceiling "ceiling: pgbench -M prepared, same statement" \
        "$(printf '%.0f' "$p_tps")" "$p_p50" "$p_p99" "$errors" "$p_cpu" "$notes"
}

case_module() {
    local conc=$1 workers=$2
    case_name=c$conc-module-w$workers
    nginx_conf module "$workers" "$conc"
    nginx_start
    measure_http "$conc" "module$workers" "module, $(plural "$workers" "nginx worker" "nginx workers"), pool $conc each"
    nginx_stop
}

case_node() {
    local conc=$1 workers=$2
    case_name=c$conc-node-p$workers
    node_start "$workers" "$conc"
    measure_http "$conc" "node$workers" "Node.js express+pg, $(plural "$workers" process processes), pool $conc each"
    node_stop
}

case_http() {
    local conc=$1
    case_name=c$conc-http
    nginx_conf http 1 0
    nginx_start
    measure_http "$conc" http "HTTP ceiling: nginx return 200, 1 worker"
    nginx_stop
}

# one delivery through the module: the card every other card must equal
reference_card() {
    local code
    case_name=reference
    sql -c "TRUNCATE fluid.cards"
    nginx_conf module 1 1
    nginx_start
    code=$(curl -sS -o "$prefix/reference.body" -w '%{http_code}' \
           -H "Authorization: $auth" -H 'Content-Type: application/json; charset=utf-8' \
           --data-binary "@$sample" "http://127.0.0.1:$port$url_path")
    nginx_stop
    [ "$code" = 201 ] || die "one delivery got $code: $(cat "$prefix/reference.body")"
    sql -c "CREATE TABLE bench.ref AS SELECT $card_cols FROM fluid.cards"
}

worker_rss_mb() {
    local pid
    pid=$(ps -o pid= --ppid "$(cat "$prefix/logs/nginx.pid")" | head -1 | tr -d ' ')
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"
}

# the worker's memory over at least rss_deliveries deliveries, in 10 s steps
case_rss() {
    local conc=16 ok=0 dur=0 bad=0 steps=0 fresh warm first rate notes
    case_name=c$conc-module-w1-rss
    nginx_conf module 1 "$conc"
    nginx_start
    fresh_table
    fresh=$(worker_rss_mb)
    while [ "$ok" -lt "$rss_deliveries" ] && [ "$steps" -lt 60 ]; do
        wrk_run "$conc" "$seconds"
        ok=$((ok + w_ok)) dur=$((dur + w_dur)) bad=$((bad + w_other + w_sock))
        steps=$((steps + 1))
        [ "$steps" != 1 ] || { warm=$(worker_rss_mb); first=$ok; }
    done
    notes="worker VmRSS $fresh MB fresh, $warm MB after $first, $(worker_rss_mb) MB after $ok deliveries"
    [ "$bad" = 0 ] || { notes="$notes, last answers $w_codes"; problem "$bad errors"; }
    notes="$notes; p50/p99 of the last ${seconds} s; $(cards_note "$ok" $((conc * steps)))$(log_note)"
    nginx_stop
    rate=$(awk -v n="$ok" -v d="$dur" 'BEGIN { printf "%.0f", n / (d / 1e6) }')
    row "$conc" extra "module, 1 worker: $ok deliveries in a row" \
        "$rate" "$w_p50" "$w_p99" "$bad" "$w_cpu" "$notes"
}

# 1000000 as 1,000,000
thousands() {
    echo "$1" | sed -e :a -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/; ta'
}

# module throughput with a small and a large existing table
case_sizes() {
    local n conc=$size_concurrency
    for n in $sizes; do
        case_name=c$conc-module-w1-$n
        nginx_conf module 1 "$conc"
        nginx_start
        measure_http "$conc" extra "module, 1 worker, $(thousands "$n") existing cards" "$n"
        nginx_stop
    done
}

# the commit the module was built from, and whether src/ had changes then
source_tree() {
    local head
    head=$(git -C "$top" rev-parse --short HEAD 2>/dev/null) || { echo "no git"; return; }
    if [ -n "$(git -C "$top" status --porcelain -- src config 2>/dev/null)" ]; then
        echo "$head with uncommitted changes in src/"
    else
        echo "$head"
    fi
}

versions() {
    local express pg
    express=$(node -p "require('$bench/node/node_modules/express/package.json').version")
    pg=$(node -p "require('$bench/node/node_modules/pg/package.json').version")
    echo "- nginx $(nginx -v 2>&1 | sed 's|.*/||'), PostgreSQL $(sql -c 'SHOW server_version'), Node.js $(node --version) with express $express and pg $pg, $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
}

header() {
    echo "# make bench"
    echo
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), CPU $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    versions
    echo "- module: objs/ngx_http_fluid_devops_module.so built $module_built from $module_tree, sha256 $(sha256sum "$prefix/module.so" | cut -c1-12)"
    echo "- PostgreSQL defaults for every case except max_connections 150; fsync on, synchronous_commit on; one throwaway cluster, the cards table emptied, VACUUM ANALYZE and CHECKPOINT before each point"
    echo "- each point: ${warmup} s warm-up, then ${seconds} s; wrk/pgbench threads min(c, 2); the created-task sample ($(wc -c < "$sample") bytes) with a new work item id per delivery"
    echo "- figures are from ONE run on a shared, noisy 2-core machine, where load generator, server and PostgreSQL share the cores; the compared cases ran back to back"
    echo
}

# the rows as one markdown table, with the module's ratios
table() {
    echo "| c | case | deliveries/s | p50 ms | p99 ms | errors | module/ceiling | module/alternative | CPU ms/delivery: load / server / PG | notes |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
    awk -F'\t' '
        { c[NR] = $1; k[NR] = $2; rate[$1, $2] = $4; line[NR] = $0 }
        function ms(us) { return sprintf("%.2f", us / 1000) }
        function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
        END {
            for (i = 1; i <= NR; i++) {
                split(line[i], f, "\t")
                rc = "-"; ra = "-"
                if (f[2] == "module1" || f[2] == "module2") {
                    rc = ratio(f[4], rate[f[1], "ceiling"])
                    ra = ratio(f[4], rate[f[1], "node" substr(f[2], 7)])
                }
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                    f[1], f[3], f[4], ms(f[5]), ms(f[6]), f[7], rc, ra, f[8], f[9]
            }
        }' "$prefix/rows"
}

footer() {
    echo
    echo "module/ceiling: the module's deliveries/s over pgbench's at the same concurrency; module/alternative: over Node.js with as many processes as nginx workers. errors: non-2xx answers plus socket errors (pgbench: failed transactions). CPU ms/delivery: user+system CPU time per delivery during the measured run, of the load generator (wrk or pgbench), the server (nginx master and workers, or the Node.js processes) and all PostgreSQL processes together. wrk keeps its connections open (keepalive); nginx has access_log off."
    if [ -s "$prefix/log-notes" ]; then
        echo
        echo "nginx error log lines at warn and above (count, message):"
        echo
        sed 's/^/    /' "$prefix/log-notes"
    fi
    if [ -s "$prefix/problems" ]; then
        echo
        echo "Problems seen (logs kept in $prefix):"
        echo
        sed 's/^/- /' "$prefix/problems"
    fi
    echo
    echo "Run time: $(( $(date +%s) - BENCH_STARTED )) s."
}

report() {
    { header; table; footer; } > "$bench/results.md"
    echo
    cat "$bench/results.md"
}

finish() {
    [ -z "${node_pid:-}" ] || node_stop
    if [ -f "$prefix/logs/nginx.pid" ] && kill -0 "$(cat "$prefix/logs/nginx.pid")" 2>/dev/null; then
        nginx_stop
    fi
    if [ "${finished:-}" = 1 ] && [ ! -s "$prefix/problems" ]; then
        rm -rf "$prefix"
    else
        echo "bench: logs and configuration kept in $prefix" >&2
    fi
}

inside() {
    local conc
    fluid_db_setup
    prefix=$(mktemp -d /tmp/fluid-bench.XXXXXX)
    mkdir -p "$prefix/logs"
    # a copy, so that a rebuild during the run changes nothing
    cp "$top/objs/ngx_http_fluid_devops_module.so" "$prefix/module.so"
    module_built=$(date -u -r "$top/objs/ngx_http_fluid_devops_module.so" '+%Y-%m-%d %H:%M UTC')
    module_tree=$(source_tree)
    run_no=0 node_pid=
    port=$(fluid_free_port 18080)
    trap finish EXIT
    db_prepare
    pg_pid=$(head -1 "$(sql -c 'SHOW data_directory')/postmaster.pid")
    pgbench_params
    reference_card
    for conc in $levels; do
        echo "bench: concurrency $conc" >&2
        case_ceiling "$conc"
        case_module "$conc" 1
        case_node "$conc" 1
        case_module "$conc" 2
        case_node "$conc" 2
        case_http "$conc"
    done
    echo "bench: $rss_deliveries deliveries in a row" >&2
    case_rss
    echo "bench: existing cards" >&2
    case_sizes
    report
    finished=1
}

if [ -z "${BENCH_INSIDE:-}" ]; then
    outside "$@"
else
    inside "$@"
fi
