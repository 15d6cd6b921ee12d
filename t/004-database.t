# When the database cannot do the work: unreachable, silent, slow or
# refusing the statement.  Transient trouble is answered 503 with
# Retry-After, so that DevOps redelivers; nothing is half-written.

use Test::Nginx::Socket 'no_plan';
use FluidDevops;
use IO::Socket::INET;

no_shuffle();
no_long_string();

# the error log checks of a block see all its requests' lines
check_accum_error_log();

# a TCP peer that accepts connections and never says a word
our $SilentPort = ($ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                   || 1984) + 2;
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $SilentPort, Listen => 64,
                                   ReuseAddr => 1)
    or die "cannot listen on $SilentPort: $!";

my $child = fork // die "fork: $!";
if ($child == 0) {
    my @held;
    while (my $c = $silent->accept) {
        push @held, $c;
    }
    exit 0;
}
close $silent;

END { kill 'TERM', $child if $child; }

$ENV{TEST_NGINX_SILENT_PORT} = $SilentPort;


run_tests();

__DATA__

=== TEST 1: a database that refuses connections gets 503 with Retry-After
--- http_config
fluid_devops_database "host=127.0.0.1 port=1 dbname=fluid user=fluid_hooks";
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body
{"status":"unavailable","reason":"the Fluid database is unavailable; the delivery was not completed, and redelivering it is safe"}
--- error_log eval
qr/\[error\] .*fluid devops: could not connect to database "host=127\.0\.0\.1 port=1 dbname=fluid user=fluid_hooks": .*refused/



=== TEST 2: repeated failures to connect are logged once, not per request
--- http_config
fluid_devops_database "host=127.0.0.1 port=1 dbname=fluid user=fluid_hooks";
--- credentials: david.burt token-david
--- request eval
[("POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')) x 4]
--- error_code eval
[503, 503, 503, 503]
--- grep_error_log eval: qr/could not connect to database "[^"]*"/
--- grep_error_log_out
could not connect to database "host=127.0.0.1 port=1 dbname=fluid user=fluid_hooks"



=== TEST 3: a server that never answers gets 503 within the connect timeout
--- http_config eval
qq{fluid_devops_database "host=127.0.0.1 port=$main::SilentPort dbname=fluid user=fluid_hooks";
fluid_devops_connect_timeout 300ms;}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 503
--- timeout: 3
--- error_log
connection timed out



=== TEST 4: a statement that outlasts the query timeout is cancelled on the server and gets 503
--- init
FluidDevops::Db::lock_cards(2);
--- http_config eval
qq{fluid_devops_database "$ENV{TEST_NGINX_FLUID_DB}";
fluid_devops_query_timeout 400ms;}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 503
--- timeout: 3
--- error_log eval
qr/\[warn\] .*delivery statement failed with SQLSTATE "57014": canceling statement due to statement timeout/
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
0



=== TEST 5: a statement the database rejects gets 500 and its SQLSTATE is logged
--- db_setup
REVOKE EXECUTE ON FUNCTION fluid.devops_deliver FROM fluid_hooks;
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 500
--- response_body
{"status":"error","reason":"internal error; nothing was written, the Fluid server's error log has the cause"}
--- error_log eval
qr/\[error\] .*fluid devops: delivery statement failed with SQLSTATE "42501": permission denied for function devops_deliver/



=== TEST 6: without prepared statements a rejected statement also gets 500
--- http_config eval
qq{fluid_devops_database "$ENV{TEST_NGINX_FLUID_DB}";
fluid_devops_prepare off;}
--- db_setup
REVOKE EXECUTE ON FUNCTION fluid.devops_deliver FROM fluid_hooks;
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 500
--- error_log eval
qr/\[error\] .*fluid devops: delivery statement failed with SQLSTATE "42501": permission denied/



=== TEST 7: without prepared statements deliveries work as before
--- http_config eval
qq{fluid_devops_database "$ENV{TEST_NGINX_FLUID_DB}";
fluid_devops_prepare off;}
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json'),
 "POST /d/692/1108\n" . FluidDevops::sample('workitem.deleted.task.json')]
--- error_code eval
[201, 200]
--- db_check
SELECT devops_work_item_id FROM fluid.cards ORDER BY id
--- db_rows
1042



=== TEST 8: an error at commit time, after the result row, is what is answered
--- db_setup
CREATE FUNCTION fluid.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'deferred check failed' USING ERRCODE = '23514';
END $$;
CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON fluid.cards
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION fluid.fail_at_commit();
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 500
--- error_log eval
qr/\[error\] .*delivery statement failed with SQLSTATE "23514": deferred check failed/
--- db_check
DROP TRIGGER fail_at_commit ON fluid.cards;
DROP FUNCTION fluid.fail_at_commit();
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
0



=== TEST 9: a warning from a trigger is logged by its primary message only
--- db_setup
CREATE FUNCTION fluid.warn_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'card for work item % inserted', NEW.devops_work_item_id
          USING DETAIL = 'title=' || NEW.title;
    RETURN NULL;
END $$;
CREATE TRIGGER warn_on_insert AFTER INSERT ON fluid.cards
    FOR EACH ROW EXECUTE FUNCTION fluid.warn_on_insert();
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- error_log eval
qr/\[info\] .*fluid devops: database ".*" says: WARNING: "card for work item 1042 inserted"/
--- no_error_log eval
[qr/title=Reconcile/, qr/^WARNING/]
--- db_check
DROP TRIGGER warn_on_insert ON fluid.cards;
DROP FUNCTION fluid.warn_on_insert();
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
1
