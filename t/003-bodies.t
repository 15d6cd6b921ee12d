# Request bodies however nginx receives them: in memory, spilled to a
# temporary file, chunked, after Expect: 100-continue, and up to the 2 MB
# DevOps may send.

use Test::Nginx::Socket 'no_plan';
use FluidDevops;

no_shuffle();
no_long_string();

our $Big = FluidDevops::sample_with('workitem.created.task.json', sub {
    $_[0]{resource}{fields}{'System.Description'} =
        '<div>' . ('x' x (2 * 1024 * 1024 - 8192)) . '</div>';
});

run_tests();

__DATA__

=== TEST 1: a body spilled to a temporary file is read whole
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    client_body_buffer_size 1k;
    client_max_body_size 4m;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- response_body
{"status":"created","card_id":2}
--- error_log
a client request body is buffered to a temporary file
--- db_check
SELECT title, length(description), devops_fields->>'System.Parent'
  FROM fluid.cards WHERE id = 2
--- db_rows
Reconcile duplicate ledger entries after nightly import|250|1037



=== TEST 2: a body kept in a file only is read whole
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    client_body_in_file_only clean;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- db_check
SELECT title FROM fluid.cards WHERE id = 2
--- db_rows
Reconcile duplicate ledger entries after nightly import



=== TEST 3: a chunked body is read whole
--- credentials: david.burt token-david
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /d/692/1108\n"
. FluidDevops::chunked(FluidDevops::sample('workitem.created.task.json'), 700)
--- error_code: 201
--- response_body
{"status":"created","card_id":2}
--- db_check
SELECT title, tags FROM fluid.cards WHERE id = 2
--- db_rows
Reconcile duplicate ledger entries after nightly import|backend; payments



=== TEST 4: a chunked body spilled to a temporary file is read whole
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    client_body_buffer_size 1k;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /d/692/1108\n"
. FluidDevops::chunked(FluidDevops::sample('workitem.created.task.json'), 300)
--- error_code: 201
--- db_check
SELECT title FROM fluid.cards WHERE id = 2
--- db_rows
Reconcile duplicate ledger entries after nightly import



=== TEST 5: Expect: 100-continue gets 100 Continue, then the answer
--- credentials: david.burt token-david
--- more_headers
Expect: 100-continue
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 100
--- response_body_like: ^HTTP/1\.1 201 Created\r\n.*\r\n\r\n\{"status":"created","card_id":2\}\n$
--- db_check
SELECT title FROM fluid.cards WHERE id = 2
--- db_rows
Reconcile duplicate ledger entries after nightly import



=== TEST 6: a payload of 2 MB is accepted and stored whole
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    client_max_body_size 4m;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . $main::Big
--- error_code: 201
--- timeout: 10
--- db_check
SELECT length(description), length(devops_fields->>'System.Description')
  FROM fluid.cards WHERE id = 2
--- db_rows
2088971|2088971
