# Deliveries that are acted on or answered 2xx: created, redelivered,
# deleted, absent, ignored and the Test button's sample, each checked in the
# database.

use Test::Nginx::Socket 'no_plan';
use FluidDevops;

no_shuffle();
no_long_string();

run_tests();

__DATA__

=== TEST 1: a created event becomes a card with every mapped field
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body
{"status":"created","card_id":2}
--- db_check
SELECT board_id, card_type, title, state, priority, assigned_to, tags,
       devops_work_item_id, devops_project, devops_url, created_by_user_id,
       description LIKE '<div>The nightly import%<b>batchId</b>%',
       devops_fields->>'System.Title',
       devops_fields->'Microsoft.VSTS.Scheduling.RemainingWork'
  FROM fluid.cards WHERE id = 2
--- db_rows
1108|task|Reconcile duplicate ledger entries after nightly import|To Do|2|Mireille Duchamp|backend; payments|1042|Harbor|https://dev.azure.com/contoso-fab/91833f56-5e5f-433b-ba57-88b2010df6b4/_workitems/edit/1042|7|t|Reconcile duplicate ledger entries after nightly import|6.0
--- no_error_log
[error]
[warn]



=== TEST 2: the same created event delivered again changes nothing
--- credentials: david.burt token-david
--- db_setup
INSERT INTO fluid.cards (board_id, card_type, title, devops_work_item_id,
                         created_at)
VALUES (1108, 'task', 'kept as it was', 1042, '2025-01-01T00:00:00Z');
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 200
--- response_body
{"status":"exists","card_id":2}
--- db_check
SELECT count(*), min(title), min(created_at)::date
  FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
1|kept as it was|2025-01-01



=== TEST 3: a delivery and its redelivery leave exactly one card
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json'),
 "POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')]
--- error_code eval
[201, 200]
--- response_body eval
["{\"status\":\"created\",\"card_id\":2}\n",
 "{\"status\":\"exists\",\"card_id\":2}\n"]
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
1



=== TEST 4: a deleted event removes the card of that work item
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.deleted.task.json')
--- error_code: 200
--- response_body
{"status":"deleted","card_id":1}
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1038
--- db_rows
0



=== TEST 5: a deleted event removes only the card on that board
--- credentials: david.burt token-david
--- db_setup
INSERT INTO fluid.cards (board_id, card_type, title, devops_work_item_id)
VALUES (2000, 'task', 'same work item, other board', 1038);
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.deleted.task.json')
--- error_code: 200
--- response_body
{"status":"deleted","card_id":1}
--- db_check
SELECT board_id, title FROM fluid.cards ORDER BY id
--- db_rows
2000|same work item, other board



=== TEST 6: deleting a card that is not there answers absent
--- credentials: david.burt token-david
--- db_setup
DELETE FROM fluid.cards;
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.deleted.task.json')
--- error_code: 200
--- response_body
{"status":"absent"}
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
0



=== TEST 7: other event types are ignored with a reason
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{eventType} = 'workitem.updated' })
--- error_code: 200
--- response_body
{"status":"ignored","reason":"event type \"workitem.updated\" is not handled; only workitem.created and workitem.deleted are"}
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
1



=== TEST 8: a work item type not configured for the board is ignored
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource}{fields}{'System.WorkItemType'} = 'Epic' })
--- error_code: 200
--- response_body
{"status":"ignored","reason":"work item type \"Epic\" is not configured for board 1108"}
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
1



=== TEST 9: work item types match case-insensitively and map to the card type
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource}{fields}{'System.WorkItemType'} = 'BUG' })
--- error_code: 201
--- response_body
{"status":"created","card_id":2}
--- db_check
SELECT card_type FROM fluid.cards WHERE id = 2
--- db_rows
defect



=== TEST 10: the Test button's sample is checked but not written
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub {
        my $r = $_[0]{resource};
        $r->{id} = 5;
        $r->{fields}{'System.WorkItemType'} = 'Bug';
        $r->{fields}{'System.Title'} = 'Some great new idea!';
        $r->{url} = 'http://fabrikam-fiber-inc.visualstudio.com/'
                    . 'DefaultCollection/_apis/wit/workItems/5';
        $r->{_links}{html}{href} = 'http://fabrikam-fiber-inc.visualstudio'
                    . '.com/web/wi.aspx?pcguid=d81542e4&id=5';
    })
--- error_code: 200
--- response_body
{"status":"test","reason":"Azure DevOps test sample received: the credentials, the board and the permission are in order; nothing was written","work_item_type":"Bug","card_type":"defect"}
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
1



=== TEST 11: an unsaved subscription's all-zero id marks the Test sample
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{subscriptionId} = '00000000-0000-0000-0000-000000000000' })
--- error_code: 200
--- response_body_like: ^\{"status":"test",
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
1



=== TEST 12: the Test sample still needs valid credentials
--- credentials: david.burt wrong-token
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{subscriptionId} = '00000000-0000-0000-0000-000000000000' })
--- error_code: 401
--- response_body_like: "status":"refused"



=== TEST 13: the Test sample still needs the board switch
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1109\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{subscriptionId} = '00000000-0000-0000-0000-000000000000' })
--- error_code: 403
--- response_body_like: turned off for board 1109



=== TEST 14: an identity object in System.AssignedTo gives its display name
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub {
        $_[0]{resourceVersion} = '5.1-preview.3';
        $_[0]{resource}{fields}{'System.AssignedTo'} = {
            displayName => 'Mireille Duchamp',
            uniqueName => 'mireille.duchamp@contoso-fab.example',
            id => 'c8a1f6b4-3a86-4a5f-8d1e-5e1ec4a2b917',
            url => 'https://spsprodweu5.vssps.visualstudio.com/A1/_apis/Identities/c8a1f6b4',
            imageUrl => 'https://dev.azure.com/contoso-fab/_apis/GraphProfile/MemberAvatars/aad.1',
            descriptor => 'aad.YzhhMWY2YjQ',
            _links => { avatar => { href => 'https://dev.azure.com/x' } },
        };
    })
--- error_code: 201
--- db_check
SELECT assigned_to, devops_fields->'System.AssignedTo'->>'uniqueName'
  FROM fluid.cards WHERE id = 2
--- db_rows
Mireille Duchamp|mireille.duchamp@contoso-fab.example



=== TEST 15: an Azure DevOps Server identity string gives its display name
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource}{fields}{'System.AssignedTo'} =
              'Jamal Hartnell <CONTOSO\\jhartnell>' })
--- error_code: 201
--- db_check
SELECT assigned_to FROM fluid.cards WHERE id = 2
--- db_rows
Jamal Hartnell



=== TEST 16: absent optional fields are stored as nulls
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub {
        my $f = $_[0]{resource}{fields};
        delete @$f{'System.AssignedTo', 'System.Tags', 'System.Description',
                   'Microsoft.VSTS.Common.Priority', 'System.State'};
        delete $_[0]{resource}{_links};
    })
--- error_code: 201
--- db_check
SELECT assigned_to IS NULL, tags IS NULL, description IS NULL,
       priority IS NULL, state IS NULL, devops_url
  FROM fluid.cards WHERE id = 2
--- db_rows
t|t|t|t|t|https://dev.azure.com/contoso-fab/91833f56-5e5f-433b-ba57-88b2010df6b4/_apis/wit/workItems/1042



=== TEST 17: non-ASCII text and a localised type name are stored exactly
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub {
        my $f = $_[0]{resource}{fields};
        $f->{'System.WorkItemType'} = "\x{4efb}\x{52a1}";
        $f->{'System.Title'} = "R\x{e9}concilier les \x{e9}critures \x{2014} \x{1f4b6}";
        $f->{'System.AssignedTo'} = "Zo\x{eb} \x{0141}ukasiewicz <zoe\@contoso-fab.example>";
    })
--- error_code: 201
--- db_check
SELECT card_type, title, assigned_to, encode(convert_to(title, 'UTF8'), 'hex')
  FROM fluid.cards WHERE id = 2
--- db_rows
task|Réconcilier les écritures — 💶|Zoë Łukasiewicz|52c3a9636f6e63696c696572206c657320c3a9637269747572657320e2809420f09f92b6



=== TEST 18: user names compare case-insensitively
--- credentials: DAVID.Burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- db_check
SELECT created_by_user_id FROM fluid.cards WHERE id = 2
--- db_rows
7



=== TEST 19: a token with a future expiry is accepted
--- credentials: david.burt token-david-later
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1042
--- db_rows
1



=== TEST 20: $fluid_devops_status and $fluid_devops_card_id tell the outcome
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
    add_header X-Fluid-Status $fluid_devops_status always;
    add_header X-Fluid-Card $fluid_devops_card_id always;
}
--- credentials: david.burt token-david
--- request eval
["POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json'),
 "POST /d/692/9999\n" . FluidDevops::sample('workitem.created.task.json')]
--- error_code eval
[201, 404]
--- response_headers eval
["X-Fluid-Status: created\nX-Fluid-Card: 2",
 "X-Fluid-Status: refused\nX-Fluid-Card: "]
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
2



=== TEST 21: the access log records a created delivery and its card
--- http_config
log_format fluid '$status $fluid_devops_status $fluid_devops_card_id';
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    access_log logs/access.log fluid;
    lingering_close always;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 201
--- access_log
201 created 2



=== TEST 22: the access log records a redelivery that found its card
--- http_config
log_format fluid '$status $fluid_devops_status $fluid_devops_card_id';
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    access_log logs/access.log fluid;
    lingering_close always;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- db_setup
INSERT INTO fluid.cards (board_id, card_type, title, devops_work_item_id)
VALUES (1108, 'task', 'there already', 1042);
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.created.task.json')
--- error_code: 200
--- access_log
200 exists 2



=== TEST 23: the access log records a deleted card
--- http_config
log_format fluid '$status $fluid_devops_status $fluid_devops_card_id';
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    access_log logs/access.log fluid;
    lingering_close always;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.deleted.task.json')
--- error_code: 200
--- access_log
200 deleted 1



=== TEST 24: the access log records a delete of a card that was not there
--- http_config
log_format fluid '$status $fluid_devops_status $fluid_devops_card_id';
--- config
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    access_log logs/access.log fluid;
    lingering_close always;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
--- credentials: david.burt token-david
--- db_setup
DELETE FROM fluid.cards;
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample('workitem.deleted.task.json')
--- error_code: 200
--- access_log
200 absent -



=== TEST 25: an eventType named like an outcome is just another event type
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.deleted.task.json',
    sub { $_[0]{eventType} = 'deleted' })
--- error_code: 200
--- response_body_like: ^\{"status":"ignored","reason":"event type \\"deleted\\" is not handled
--- db_check
SELECT count(*) FROM fluid.cards WHERE devops_work_item_id = 1038
--- db_rows
1



=== TEST 26: a very long unknown type name is cut in the reason, not in a character
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub { $_[0]{resource}{fields}{'System.WorkItemType'} = "\x{e9}" x 600 })
--- error_code: 200
--- response_body_like: ^\{"status":"ignored","reason":"work item type \\"(?:\x{c3}\x{a9})+"\}\n$
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
1



=== TEST 27: a work item updated event is ignored, with its changed fields as sent
--- credentials: david.burt token-david
--- request eval
"POST /d/692/1108\n" . FluidDevops::sample_with('workitem.created.task.json',
    sub {
        $_[0]{eventType} = 'workitem.updated';
        $_[0]{resource} = {
            id => 3, workItemId => 1042, rev => 2,
            fields => { 'System.State' => { oldValue => 'To Do',
                                             newValue => 'Doing' } },
            url => 'https://dev.azure.com/contoso-fab/_apis/wit/workItems/1042/updates/3',
        };
    })
--- error_code: 200
--- response_body_like: "status":"ignored"
--- db_check
SELECT count(*) FROM fluid.cards
--- db_rows
1
