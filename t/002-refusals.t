# Deliveries that are refused: wrong method, credentials, switches,
# permissions, boards, content types and bodies.  Each answer says what is
# wrong, and none of them writes anything.

use Test::Nginx::Socket 'no_plan';
use FluidDevops;

no_shuffle();
no_long_string();

add_block_preprocessor(sub {
    my $block = shift;

    # unless a block says otherwise, nothing may have been written
    if (!defined $block->db_check) {
        $block->set_value(db_check => 'SELECT count(*), min(id) FROM fluid.cards');
        $block->set_value(db_rows => '1|1');
    }

    return $block;
});

our $Unauthorized = '{"status":"refused","reason":"the user name or personal access token is not valid for this Fluid instance"}' . "\n";

run_tests();

__DATA__

=== TEST 1: methods other than POST get 405 and an Allow header
--- credentials: david.burt token-david
--- request
GET /d/692/1108
--- error_code: 405
--- response_headers
Allow: POST
--- response_body
{"status":"refused","reason":"only POST is accepted here"}
--- error_log
delivery to board "1108" refused with 405: method not allowed



=== TEST 2: no Authorization header gets 401 with a Basic challenge
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="Fluid"
--- response_body eval: $main::Unauthorized
--- error_log
refused with 401: no Authorization header



=== TEST 3: a scheme other than Basic gets the same 401
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- more_headers
Authorization: Bearer token-david
Content-Type: application/json
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="Fluid"
--- response_body eval: $main::Unauthorized



=== TEST 4: credentials that are not base64 get the same 401
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- more_headers
Authorization: Basic !!!not-base64!!!
Content-Type: application/json
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 5: decoded credentials without a colon get the same 401
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- more_headers eval
"Authorization: Basic " . MIME::Base64::encode_base64('david.burt-token-david', '') . "\nContent-Type: application/json"
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 6: an empty token gets the same 401
--- credentials: david.burt
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 7: a wrong token gets the same 401, and the log names the account
--- credentials: david.burt wrong-token
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="Fluid"
--- response_body eval: $main::Unauthorized
--- error_log
[error]
refused with 401: no active account "david.burt" with that token
--- no_error_log eval
[qr/wrong-token/, qr/fluid devops:.*(?:Authorization|Basic |ZGF2aWQ)/]



=== TEST 8: a revoked token gets the same 401
--- credentials: david.burt token-david-revoked
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 9: an expired token gets the same 401
--- credentials: david.burt token-david-expired
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 10: an unknown account gets the same 401
--- credentials: nobody.here token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 11: an inactive account gets the same 401
--- credentials: old.account token-old
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 12: a valid account that is not the configured sender gets 401
--- credentials: ines.moreau token-ines
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_body eval: $main::Unauthorized
--- error_log
account "ines.moreau" is not the DevOps sender



=== TEST 13: another account's token with the sender's name gets 401
--- credentials: david.burt token-ines
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_body eval: $main::Unauthorized



=== TEST 14: the instance switch off gets 403 naming the setting
--- credentials: david.burt token-david
--- db_setup
UPDATE fluid.authentication_providers SET enabled = false;
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 403
--- response_body
{"status":"refused","reason":"DevOps incoming webhooks are turned off for this Fluid instance: enable \"Allow DevOps Incoming Webhook\" in the Administration Console under Authentication Providers"}



=== TEST 15: no devops provider row at all is the instance switch off
--- credentials: david.burt token-david
--- db_setup
DELETE FROM fluid.authentication_providers;
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 403
--- response_body_like: turned off for this Fluid instance



=== TEST 16: the board switch off gets 403 naming the setting
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1109\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 403
--- response_body
{"status":"refused","reason":"incoming webhooks from DevOps are turned off for board 1109: enable \"Allow Incoming Webhooks from DevOps\" on the board's integration page"}



=== TEST 17: an account that may not create items gets 403 on created
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1110\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 403
--- response_body
{"status":"refused","reason":"account \"david.burt\" may not create items on board 1110: grant it the permission in Fluid"}



=== TEST 18: an account that may not delete items gets 403 on deleted
--- credentials: david.burt token-david
--- db_setup
INSERT INTO fluid.cards (board_id, card_type, title, devops_work_item_id)
VALUES (1110, 'task', 'stays', 1038);
--- request eval
"POST /d/692/1110\n" . FluidDevops::sample('workitem.deleted.task.json')
--- error_code: 403
--- response_body
{"status":"refused","reason":"account \"david.burt\" may not delete items on board 1110: grant it the permission in Fluid"}
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1038
--- db_rows
2



=== TEST 19: an account that is no board member gets 403
--- credentials: david.burt token-david
--- db_setup
DELETE FROM fluid.board_members WHERE board_id = 1108 AND user_id = 7;
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 403
--- response_body_like: may not create items on board 1108



=== TEST 20: a board that does not exist gets 404
--- credentials: david.burt token-david
--- request eval
"POST /d/692/9999\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 404
--- response_body
{"status":"refused","reason":"there is no board 9999 in workspace 692"}



=== TEST 21: a board of another workspace gets 404
--- credentials: david.burt token-david
--- request eval
"POST /d/692/2000\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 404
--- response_body
{"status":"refused","reason":"there is no board 2000 in workspace 692"}



=== TEST 22: ids that are not positive bigint numbers get 404
--- credentials: david.burt token-david
--- request eval
["POST /d/692/abc\n{}", "POST /d/0/1108\n{}", "POST /d/-692/1108\n{}",
 "POST /d/692/9223372036854775808\n{}", "POST /d/692/12x\n{}",
 "POST /d/692/%20\n{}"]
--- error_code eval
[404, 404, 404, 404, 404, 404]
--- response_body eval
["{\"status\":\"refused\",\"reason\":\"no such board\"}\n",
 "{\"status\":\"refused\",\"reason\":\"no such board\"}\n",
 "{\"status\":\"refused\",\"reason\":\"no such board\"}\n",
 "{\"status\":\"refused\",\"reason\":\"no such board\"}\n",
 "{\"status\":\"refused\",\"reason\":\"no such board\"}\n",
 "{\"status\":\"refused\",\"reason\":\"no such board\"}\n"]



=== TEST 23: the largest bigint is a valid board id
--- credentials: david.burt token-david
--- request eval
"POST /d/692/9223372036854775807\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 404
--- response_body
{"status":"refused","reason":"there is no board 9223372036854775807 in workspace 692"}



=== TEST 24: a Content-Type that is not JSON gets 415
--- credentials: david.burt token-david
--- more_headers
Content-Type: text/plain
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 415
--- response_body
{"status":"refused","reason":"the body must be JSON (Content-Type: application/json)"}



=== TEST 25: +json types and a missing Content-Type are accepted
--- credentials: david.burt token-david
--- more_headers
Content-Type: application/vnd.devops.event+json; charset=utf-8
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
2



=== TEST 26: a body that is not JSON gets 400 saying so
--- credentials: david.burt token-david
--- request
POST /d/692/1108
{"eventType": "workitem.created",
--- error_code: 400
--- response_body_like: ^\{"status":"refused","reason":"the body is not valid JSON: .*\(line \d+, column \d+\)"\}$



=== TEST 27: an empty body gets 400
--- credentials: david.burt token-david
--- request
POST /d/692/1108
--- more_headers
Content-Length: 0
--- error_code: 400
--- response_body
{"status":"refused","reason":"the request body is empty"}



=== TEST 28: a JSON value that is not an object gets 400
--- credentials: david.burt token-david
--- request
POST /d/692/1108
[{"eventType": "workitem.created"}]
--- error_code: 400
--- response_body
{"status":"refused","reason":"the body is not a JSON object"}



=== TEST 29: a missing eventType gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { delete $_[0]{eventType} })
--- error_code: 400
--- response_body
{"status":"refused","reason":"\"eventType\" is missing"}



=== TEST 30: a mistyped eventType gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{eventType} = 17 })
--- error_code: 400
--- response_body
{"status":"refused","reason":"\"eventType\" is not a non-empty string"}



=== TEST 31: a deleted event without resource gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.deleted.task.json',
    sub { delete $_[0]{resource} })
--- error_code: 400
--- response_body_like: "reason":"\\"resource\\" is missing



=== TEST 32: a resource that is not an object gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource} = 'x' })
--- error_code: 400
--- response_body
{"status":"refused","reason":"\"resource\" is not an object"}



=== TEST 33: a missing resource.id gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { delete $_[0]{resource}{id} })
--- error_code: 400
--- response_body
{"status":"refused","reason":"\"resource.id\" is missing"}



=== TEST 34: a resource.id that is a string gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource}{id} = '1042' })
--- error_code: 400
--- response_body
{"status":"refused","reason":"\"resource.id\" is not an integer"}



=== TEST 35: resource.id zero, negative or beyond bigint gets 400
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n{\"eventType\":\"workitem.deleted\",\"resource\":{\"id\":0}}",
 "POST /d/692/1108\n{\"eventType\":\"workitem.deleted\",\"resource\":{\"id\":-5}}",
 "POST /d/692/1108\n{\"eventType\":\"workitem.deleted\",\"resource\":{\"id\":9223372036854775808}}"]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
["out of range", "out of range", "not valid JSON: too big integer"]



=== TEST 36: text with a NUL character gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource}{fields}{'System.Title'} = "before\x{0}after" })
--- error_code: 400
--- response_body
{"status":"refused","reason":"the body holds text with a NUL character"}



=== TEST 37: a title that is not a string gets 400
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource}{fields}{'System.Title'} = [1] })
--- error_code: 400
--- response_body
{"status":"refused","reason":"\"System.Title\" is not a string"}



=== TEST 38: a created event with Minimal resource details gets 422
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.minimal.json')
--- error_code: 422
--- response_body
{"status":"refused","reason":"\"resource.fields\" is missing; set \"Resource details to send\" to All in the service hook"}



=== TEST 39: a created event with no resource details gets 422
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.minimal.json',
    sub { delete $_[0]{resource} })
--- error_code: 422
--- response_body
{"status":"refused","reason":"\"resource\" is missing; set \"Resource details to send\" to All in the service hook"}



=== TEST 40: a created event without a title gets 422
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { delete $_[0]{resource}{fields}{'System.Title'} })
--- error_code: 422
--- response_body_like: "System.Title\\" is missing; set



=== TEST 41: a body over client_max_body_size gets nginx's 413
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    client_max_body_size 1k;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 413



=== TEST 42: refused deliveries are logged once, naming the board
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1109\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 403
--- error_log eval
qr/\[error\] .*fluid devops: delivery to board "1109" refused with 403: incoming webhooks from DevOps are turned off for board 1109/
--- no_error_log
token-david



=== TEST 43: the credentials are wiped from memory once hashed, as sent too
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
    add_header X-Seen-Authorization "[$http_authorization]" always;
    add_header X-Seen-User "[$remote_user]" always;
}
--- credentials: david.burt wrong-token
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- response_headers
X-Seen-Authorization: []
X-Seen-User: []



=== TEST 44: a user name that is not UTF-8 gets the same 401, not a database error
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- more_headers eval
"Authorization: Basic " . MIME::Base64::encode_base64("david\xff\xfe.burt:token-david", '') . "\nContent-Type: application/json"
--- error_code: 401
--- response_body eval: $main::Unauthorized
--- error_log
user name too long, not UTF-8 or with control characters
--- no_error_log
SQLSTATE



=== TEST 45: a quote in the user name is escaped where it is logged
--- credentials: da"vid token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 401
--- error_log
no active account "da\"vid" with that token



=== TEST 46: a key given twice gets 400
--- credentials: david.burt token-david
--- request
POST /d/692/1108
{"eventType":"workitem.created","eventType":"workitem.deleted","resource":{"id":1038}}
--- error_code: 400
--- response_body_like: ^\{"status":"refused","reason":"the body gives a key twice \(line 1, column \d+\)"\}$
