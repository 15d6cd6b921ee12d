# The configuration as nginx -t sees it: the example configuration passes,
# and mistakes are reported when the configuration is read, not at the first
# delivery.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $ENV{TEST_NGINX_FLUID_MODULE}
    or plan skip_all => 'TEST_NGINX_FLUID_MODULE is not set (run make test)';

my $receiver = <<'CONF';
location ~ ^/d/(?<ws>[0-9]+)/(?<board>[0-9]+)$ {
    fluid_devops_webhook;
    fluid_devops_workspace $ws;
    fluid_devops_board $board;
}
CONF

# nginx -t on an http block; returns its exit status and what it printed
sub nginx_t {
    my ($http) = @_;

    my $dir = tempdir(CLEANUP => 1);
    mkdir "$dir/logs";
    open my $fh, '>', "$dir/nginx.conf" or die $!;
    print $fh "load_module $module;\nerror_log $dir/logs/error.log;\n"
              . "pid $dir/nginx.pid;\nevents {}\nhttp {\n$http\n}\n";
    close $fh;

    my $out = `$nginx -t -p $dir -c $dir/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

sub server {
    my ($inner) = @_;
    return "server {\n    listen 127.0.0.1:1987;\n$inner}\n";
}

sub passes {
    my ($http, $title) = @_;
    my ($rc, $out) = nginx_t($http);
    is($rc, 0, $title) or diag($out);
}

sub fails {
    my ($http, $pattern, $title) = @_;
    my ($rc, $out) = nginx_t($http);
    isnt($rc, 0, "$title: nginx -t fails");
    like($out, $pattern, "$title: and says why");
}

my $db = 'fluid_devops_database "host=127.0.0.1 port=5432 dbname=fluid '
         . 'user=fluid_hooks";';

open my $ex, '<', 'conf/fluid-devops.conf' or die "conf/fluid-devops.conf: $!";
my $example = do { local $/; <$ex> };
close $ex;

passes($example, 'the example configuration passes nginx -t');

passes("$db\n" . server($receiver),
       'a receiver with a key=value connection string passes');

passes('fluid_devops_database "postgresql://fluid_hooks@127.0.0.1:5432/fluid'
       . '?target_session_attrs=read-write";' . "\n" . server($receiver),
       'a connection URI passes');

passes('fluid_devops_database "host=localhost,127.0.0.1 port=5432,5433 '
       . 'dbname=fluid target_session_attrs=read-write";' . "\n"
       . server($receiver),
       'a multi-host connection string with a host name passes');

passes('fluid_devops_database "host=/var/run/postgresql dbname=fluid";'
       . "\n" . server($receiver),
       'a Unix socket directory passes');

passes("$db\nfluid_devops_connect_timeout 2s;\nfluid_devops_query_timeout 3s;\n"
       . "fluid_devops_pool_size 4;\nfluid_devops_pool_queue 16;\n"
       . "fluid_devops_pool_wait_timeout 500ms;\nfluid_devops_idle_timeout 30s;\n"
       . "fluid_devops_max_lifetime 10m;\nfluid_devops_prepare off;\n"
       . server($receiver),
       'every pool directive is accepted at http level');

passes("$db\n" . server("location /d {\n    fluid_devops_webhook;\n"
                         . "    fluid_devops_workspace 692;\n"
                         . "    fluid_devops_board 1108;\n"
                         . "    location /d/static { return 204; }\n}\n"),
       'a location inside a receiver is not a receiver itself');

fails('fluid_devops_database "host=127.0.0.1 port";' . "\n" . server($receiver),
      qr/\[emerg\] .*invalid database connection string: missing "=" after "port"/,
      'a malformed connection string');

fails('fluid_devops_database "service=fluid";' . "\n" . server($receiver),
      qr/\[emerg\] .*"fluid_devops_database" directive has "service", which is not supported/,
      'a service name instead of the parameters');

fails('fluid_devops_database "hots=127.0.0.1";' . "\n" . server($receiver),
      qr/\[emerg\] .*invalid database connection string: invalid connection option "hots"/,
      'an unknown connection option');

fails('fluid_devops_database "host=no-such-host.invalid dbname=fluid";'
      . "\n" . server($receiver),
      qr/\[emerg\] .*host "no-such-host\.invalid" of the database connection string could not be resolved/,
      'a host name that does not resolve');

fails('fluid_devops_database "host=127.0.0.1,127.0.0.2 port=1,2,3";' . "\n"
      . server($receiver),
      qr/has a port list that does not match its host list/,
      'a port list longer than the host list');

fails(server($receiver),
      qr/\[emerg\] .*"fluid_devops_webhook" needs "fluid_devops_database"/,
      'a receiver without a database');

fails("$db\n" . server("location /d { fluid_devops_webhook; "
                       . "fluid_devops_board 1; }\n"),
      qr/needs "fluid_devops_workspace" and "fluid_devops_board"/,
      'a receiver without a workspace');

fails("$db\n" . server("location /d { fluid_devops_webhook; "
                       . "fluid_devops_webhook; }\n"),
      qr/"fluid_devops_webhook" directive is duplicate/,
      'a duplicate fluid_devops_webhook');

fails("$db\n$db\n" . server($receiver),
      qr/"fluid_devops_database" directive is duplicate/,
      'a duplicate fluid_devops_database');

fails("$db\nfluid_devops_pool_size 0;\n" . server($receiver),
      qr/value must be between 1 and 65535/,
      'a pool of no connections');

fails("$db\nfluid_devops_query_timeout 0;\n" . server($receiver),
      qr/timeouts must be greater than zero/,
      'a query timeout of zero');

done_testing();
