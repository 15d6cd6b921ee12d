# Shared set-up for the module's Test::Nginx suites: loads the module, points
# it at the test database, resets the Fluid fixture before each block, and
# checks the database after the block's last response.
#
# Sections it adds, on top of Test::Nginx::Socket's own:
#   --- credentials   "user token": sent as Basic auth, with the DevOps
#                     Content-Type unless more_headers sets one
#   --- db_setup      SQL run after the fixture is reset
#   --- db_check      SQL run after the last response ...
#   --- db_rows       ... and its rows as psql -At prints them ('|' between
#                     columns)
# A block without --- config gets the receiver at /d/<workspace>/<board>.

package FluidDevops;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use File::Temp ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Test::More;
use Test::Nginx::Socket ();

our @EXPORT = qw(psql sample sample_with basic_auth chunked receiver_config);

my $Top = File::Spec->rel2abs(dirname(__FILE__) . '/../..');

my $Receiver = <<'CONF';
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    client_max_body_size 4m;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
CONF


sub receiver_config { $Receiver }


# runs SQL through psql on the test database; returns what it printed
sub psql {
    my ($sql) = @_;

    my $tmp = File::Temp->new(SUFFIX => '.sql');
    binmode $tmp, ':raw';
    print $tmp $sql;
    close $tmp;

    my $file = $tmp->filename;
    my $out = `psql -XAtq -v ON_ERROR_STOP=1 -d fluid -f '$file' 2>&1`;
    die "psql failed: $out" if $? != 0;

    return $out;
}


sub sample {
    my ($name) = @_;

    my $file = "$Top/t/samples/$name";
    open my $fh, '<:raw', $file or die "cannot read $file: $!";
    local $/;
    return scalar <$fh>;
}


# a sample decoded, changed by the callback, and encoded again (UTF-8)
sub sample_with {
    my ($name, $change) = @_;

    my $json = JSON::PP->new->utf8->canonical;
    my $doc = $json->decode(sample($name));
    $change->($doc);
    return $json->encode($doc);
}


# a body in chunked transfer coding, in pieces of the given size
sub chunked {
    my ($body, $size) = @_;

    my $out = '';
    for (my $i = 0; $i < length $body; $i += $size) {
        my $piece = substr $body, $i, $size;
        $out .= sprintf("%x\r\n", length $piece) . $piece . "\r\n";
    }

    return $out . "0\r\n\r\n";
}


sub basic_auth {
    my ($user, $token) = @_;
    return 'Basic ' . encode_base64("$user:$token", '');
}


sub reset_fixture {
    psql(fixture_sql());
}


sub fixture_sql {
    return <<'SQL';
TRUNCATE fluid.cards, fluid.board_members, fluid.board_work_item_types,
         fluid.boards, fluid.workspaces, fluid.personal_access_tokens,
         fluid.users, fluid.authentication_providers RESTART IDENTITY;

INSERT INTO fluid.users (id, username, is_active) VALUES
    (7, 'david.burt', true),
    (8, 'ines.moreau', true),
    (9, 'old.account', false);

INSERT INTO fluid.personal_access_tokens (user_id, token_hash, expires_at,
                                          revoked_at) VALUES
    (7, sha256('token-david'), NULL, NULL),
    (7, sha256('token-david-revoked'), NULL, now() - interval '1 day'),
    (7, sha256('token-david-expired'), now() - interval '1 hour', NULL),
    (7, sha256('token-david-later'), now() + interval '30 days', NULL),
    (8, sha256('token-ines'), NULL, NULL),
    (9, sha256('token-old'), NULL, NULL);

INSERT INTO fluid.authentication_providers (provider, enabled, username)
VALUES ('devops', true, 'David.Burt');

INSERT INTO fluid.workspaces (id, name) VALUES (692, 'Harbor'), (700, 'Dock');

INSERT INTO fluid.boards (id, workspace_id, name, devops_webhook_enabled)
VALUES (1108, 692, 'Payments', true),
       (1109, 692, 'Archive', false),
       (1110, 692, 'Read only', true),
       (2000, 700, 'Dock board', true);

INSERT INTO fluid.board_work_item_types (board_id, devops_type, card_type)
VALUES (1108, 'Task', 'task'),
       (1108, 'Bug', 'defect'),
       (1108, '任务', 'task'),
       (1110, 'Task', 'task'),
       (2000, 'Task', 'task');

INSERT INTO fluid.board_members (board_id, user_id, can_create_items,
                                 can_delete_items)
VALUES (1108, 7, true, true),
       (1108, 8, true, true),
       (1110, 7, false, false),
       (2000, 7, true, true);

INSERT INTO fluid.cards (board_id, card_type, title, devops_work_item_id,
                         created_by_user_id)
VALUES (1108, 'task', 'Spike: evaluate ledger archiving options', 1038, 7);

GRANT EXECUTE ON FUNCTION fluid.devops_deliver TO fluid_hooks;
SQL
}


sub request_count {
    my ($block) = @_;

    for my $section (qw(request pipelined_requests raw_request)) {
        my $value = $block->$section;
        next unless defined $value;
        return ref $value eq 'ARRAY' ? scalar @$value : 1;
    }

    return 1;
}


sub prepare_block {
    my ($block) = @_;

    my $main = $block->main_config // '';
    if ($main !~ /\bload_module\b/) {
        $block->set_value(main_config =>
            "load_module $ENV{TEST_NGINX_FLUID_MODULE};\n$main");
    }

    my $http = $block->http_config // '';
    if ($http !~ /\bfluid_devops_database\b/) {
        $block->set_value(http_config =>
            qq{fluid_devops_database "$ENV{TEST_NGINX_FLUID_DB}";\n$http});
    }

    if (!defined $block->config) {
        $block->set_value(config => $Receiver);
    }

    if (defined(my $cred = $block->credentials)) {
        my ($user, $token) = split ' ', $cred, 2;
        my $headers = $block->more_headers // '';
        $headers .= 'Authorization: ' . basic_auth($user, $token // '')
                    . "\n";
        if ($headers !~ /^Content-Type:/mi) {
            $headers .= "Content-Type: application/json; charset=utf-8\n";
        }
        $block->set_value(more_headers => $headers);
    }

    reset_fixture();

    if (defined(my $sql = $block->db_setup)) {
        psql($sql);
    }

    return $block;
}


sub check_database {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run;
    return unless defined $block->db_check;
    return if $req_idx != request_count($block) - 1;

    my $got = psql($block->db_check);
    my $want = $block->db_rows // '';

    s/\n+\z// for $got, $want;

    is($got, $want, $block->name . ' - db_rows');
}


Test::Nginx::Socket::add_block_preprocessor(\&prepare_block);
Test::Nginx::Socket::add_response_body_check(\&check_database);

1;
