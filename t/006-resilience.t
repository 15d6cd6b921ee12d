# The database and the network misbehaving between and during deliveries:
# several hosts, restarts, stops, killed sessions and slow statements.  Every 2xx is a committed row; the rest is 503.

use Test::Nginx::Socket 'no_plan';
use FluidDevops;

no_shuffle();
no_long_string();
check_accum_error_log();

our $Created = FluidDevops::sample('workitem.created.task.json');

sub created {
    my ($id) = @_;
    return FluidDevops::sample_with('workitem.created.task.json',
                                    sub { $_[0]{resource}{id} = $id });
}


our $Kill = q{psql -XAtq -d fluid -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'nginx fluid_devops'" >/dev/null};

run_tests();

__DATA__

=== TEST 1: with a refusing first host, the next host of the list is used
--- http_config
fluid_devops_database "host=127.0.0.1,127.0.0.1 port=1,$TEST_NGINX_FLUID_DB_PORT dbname=fluid user=fluid_hooks password=$TEST_NGINX_FLUID_DB_PASSWORD";
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . $main::Created
--- error_code: 201
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
1
--- no_error_log
[error]



=== TEST 2: target_session_attrs=read-write passes over a read-only server
--- http_config
fluid_devops_database "host=127.0.0.1,127.0.0.1 port=$TEST_NGINX_FLUID_RO_PORT,$TEST_NGINX_FLUID_DB_PORT dbname=fluid user=fluid_hooks password=$TEST_NGINX_FLUID_DB_PASSWORD target_session_attrs=read-write";
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . $main::Created,
 "POST /d/692/1108\n" . main::created(1043)]
--- error_code eval
[201, 201]
--- db_check
SELECT devops_work_item_id FROM fluid.cards WHERE id > 1 ORDER BY id
--- db_rows
1042
1043
--- error_log eval
qq{connected to "127.0.0.1" port $ENV{TEST_NGINX_FLUID_DB_PORT}}
--- no_error_log
[error]



=== TEST 3: a host name is resolved when nginx reads its configuration
--- http_config
fluid_devops_database "host=localhost port=$TEST_NGINX_FLUID_DB_PORT dbname=fluid user=fluid_hooks password=$TEST_NGINX_FLUID_DB_PASSWORD";
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . $main::Created
--- error_code: 201
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
1



=== TEST 4: pooled sessions ended by pg_terminate_backend are replaced
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . main::created(2001),
 "POST /d/692/1108\n" . main::created(2002),
 "POST /d/692/1108\n" . main::created(2003)]
--- between eval
[$main::Kill, $main::Kill]
--- error_code eval
[201, 201, 201]
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id > 2000
--- db_rows
3
--- no_error_log
[alert]
[crit]



=== TEST 5: after a database restart the next delivery succeeds
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . main::created(2001),
 "POST /d/692/1108\n" . main::created(2002)]
--- between
pg_ctlcluster $FLUID_PG_CLUSTER restart -m fast
--- error_code eval
[201, 201]
--- timeout: 10
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id > 2000
--- db_rows
2
--- no_error_log eval
[qr/\[(?:alert|crit)\]/, qr/^FATAL/]



=== TEST 6: a stopped database gets 503, and the first delivery after its start succeeds
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . main::created(2001),
 "POST /d/692/1108\n" . main::created(2002),
 "POST /d/692/1108\n" . main::created(2003)]
--- between eval
["pg_ctlcluster $ENV{FLUID_PG_CLUSTER} stop -m fast",
 "pg_ctlcluster $ENV{FLUID_PG_CLUSTER} start"]
--- error_code eval
[201, 503, 201]
--- timeout: 10
--- db_check
SELECT devops_work_item_id FROM fluid.cards WHERE id > 1 ORDER BY id
--- db_rows
2001
2003
--- no_error_log
[alert]
[crit]



=== TEST 7: after a statement timeout the connection is reused once it is clean
--- init
FluidDevops::Db::lock_cards(1);
--- http_config eval
qq{fluid_devops_database "$ENV{TEST_NGINX_FLUID_DB}";
fluid_devops_query_timeout 300ms;
fluid_devops_pool_size 1;}
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . main::created(2001),
 "POST /d/692/1108\n" . main::created(2002)]
--- between
sleep 1.2
--- error_code eval
[503, 201]
--- timeout: 5
--- db_check
SELECT devops_work_item_id FROM fluid.cards WHERE id > 1 ORDER BY id
--- db_rows
2002
--- no_error_log
lost the connection
