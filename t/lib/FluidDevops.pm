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
#   --- between       shell commands run after each response but the last
#                     (one string for every gap, or an array, one per gap),
#                     e.g. to restart the database between two deliveries
# A block without --- config gets the receiver at /d/<workspace>/<board>.

package FluidDevops;

use strict;
use warnings;

use Exporter 'import';
use Test::More;
use Test::Nginx::Socket ();

use FluidDevops::Db qw(psql sample sample_with basic_auth chunked
                       reset_fixture);

our @EXPORT = qw(psql sample sample_with basic_auth chunked receiver_config);

my $Receiver = <<'CONF';
location ~ ^/d/(?<ws>[^/]+)/(?<board>[^/]+)$ {
    client_max_body_size 4m;
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
CONF


sub receiver_config { $Receiver }


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


sub after_response {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;

    return if $dry_run;

    if ($req_idx < request_count($block) - 1) {
        run_between($block, $req_idx);
        return;
    }

    check_database($block);
}


sub run_between {
    my ($block, $req_idx) = @_;

    my $cmds = $block->between;
    return unless defined $cmds;

    my $cmd = ref $cmds eq 'ARRAY' ? $cmds->[$req_idx] : $cmds;
    return unless defined $cmd && length $cmd;

    sleep $FluidDevops::Db::Slowdown if $FluidDevops::Db::Slowdown;

    open my $fh, '-|', 'sh', '-c', "exec 2>&1; set -e; $cmd"
        or die "cannot run sh: $!";
    my $out = do { local $/; <$fh> } // '';

    if (!close $fh) {
        fail($block->name . " - between: \"$cmd\" failed");
        diag($out);
    }
}


sub check_database {
    my ($block) = @_;

    return unless defined $block->db_check;

    my $got = psql($block->db_check);
    my $want = $block->db_rows // '';

    s/\n+\z// for $got, $want;

    is($got, $want, $block->name . ' - db_rows');
}


Test::Nginx::Socket::add_block_preprocessor(\&prepare_block);
Test::Nginx::Socket::add_response_body_check(\&after_response);

1;
