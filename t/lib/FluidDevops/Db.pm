# The test database and the test data, for any test file: psql, the Fluid
# fixture, the shared samples and Basic credentials.  Knows nothing of
# Test::Nginx.

package FluidDevops::Db;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use File::Temp ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);

our @EXPORT_OK = qw(psql sample sample_with basic_auth chunked reset_fixture
                    lock_cards);

my $Top = File::Spec->rel2abs(dirname(__FILE__) . '/../../..');

# seconds added to locks and pauses when nginx runs under valgrind, where
# its first connection (SCRAM) alone takes seconds
our $Slowdown = $ENV{TEST_NGINX_USE_VALGRIND} ? 4 : 0;


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


# an exclusive lock on fluid.cards, held by another session for a while;
# returns once the lock is there
sub lock_cards {
    my ($seconds) = @_;

    $seconds += $Slowdown;

    system("psql -XAtq -d fluid -c 'BEGIN; LOCK TABLE fluid.cards; "
           . "SELECT pg_sleep($seconds); COMMIT' >/dev/null 2>&1 &");

    for (1 .. 50) {
        my $n = psql("SELECT count(*) FROM pg_locks l JOIN pg_class c "
                     . "ON c.oid = l.relation WHERE c.relname = 'cards' "
                     . "AND l.mode = 'AccessExclusiveLock' AND l.granted");
        return if $n =~ /^1/;
        select undef, undef, undef, 0.1;
    }

    die "the lock on fluid.cards did not appear";
}


sub reset_fixture {
    psql(fixture_sql());
}


sub fixture_sql {
    return <<'SQL';
-- triggers a test may have left behind when it failed half-way
DROP TRIGGER IF EXISTS fail_at_commit ON fluid.cards;
DROP TRIGGER IF EXISTS warn_on_insert ON fluid.cards;
DROP FUNCTION IF EXISTS fluid.fail_at_commit();
DROP FUNCTION IF EXISTS fluid.warn_on_insert();

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

1;
