# Concurrent deliveries while things go wrong: the database restarts, its
# sessions are killed, nginx reloads and quits, clients leave, the pool is
# full.  Afterwards every work item is one card, every answer was 200, 201
# or 503, and the error log shows no crash and no leaked socket.
#
# This file drives its own nginx (master process, two workers) with
# concurrent clients, which the data-driven format cannot express.

use strict;
use warnings;

use File::Path qw(make_path remove_tree);
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use FluidDevops::Db qw(psql sample_with basic_auth reset_fixture lock_cards);

# this file's nginx never runs under valgrind: no extra time for it
$FluidDevops::Db::Slowdown = 0;

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $ENV{TEST_NGINX_FLUID_MODULE}
    or plan skip_all => 'TEST_NGINX_FLUID_MODULE is not set (run make test)';
my $conninfo = $ENV{TEST_NGINX_FLUID_DB};
my $cluster = $ENV{FLUID_PG_CLUSTER};

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984)
           + 20;
my $prefix = ($ENV{TEST_NGINX_SERVROOT} || 't/servroot') . '-faults';
my $url = "http://127.0.0.1:$port/d/692/1108";
my $auth = basic_auth('david.burt', 'token-david');


sub write_conf {
    my (%o) = @_;

    my $pool = $o{pool} // '';
    remove_tree($prefix);
    make_path("$prefix/conf", "$prefix/logs");

    open my $fh, '>', "$prefix/conf/nginx.conf" or die $!;
    print $fh <<CONF;
load_module $module;
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
user root;
events { worker_connections 1024; }
http {
    access_log off;
    fluid_devops_database "$conninfo";
    $pool
    server {
        listen 127.0.0.1:$port;
        location ~ ^/d/(?<ws>[0-9]+)/(?<board>[0-9]+)\$ {
            client_max_body_size 4m;
            fluid_devops_webhook;
            fluid_devops_workspace \$ws;
            fluid_devops_board \$board;
        }
    }
}
CONF
    close $fh;
}

sub start_nginx {
    write_conf(@_);
    system($nginx, '-p', "$prefix/", '-c', 'conf/nginx.conf') == 0
        or BAIL_OUT("nginx did not start");
    for (1 .. 50) {
        return if IO::Socket::INET->new("127.0.0.1:$port");
        sleep 0.1;
    }
    BAIL_OUT("nginx does not listen on $port");
}

sub master_pid {
    open my $fh, '<', "$prefix/logs/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub signal_nginx {
    my ($sig) = @_;
    my $pid = master_pid() or return;
    kill $sig, $pid;
}

# quits nginx and waits for the master to be gone; returns the seconds
sub stop_nginx {
    my $pid = master_pid() or return 0;
    my $t0 = time;
    kill 'QUIT', $pid;
    while (kill 0, $pid) {
        last if time - $t0 > 15;
        sleep 0.05;
    }
    return time - $t0;
}

sub body_for {
    my ($id) = @_;
    return sample_with('workitem.created.task.json',
                       sub { $_[0]{resource}{id} = $id + 0 });
}

# one delivery: the status code (599 when the connection failed)
sub deliver {
    my ($http, $id) = @_;
    my $res = $http->post($url, {
        headers => { Authorization => $auth,
                     'Content-Type' => 'application/json; charset=utf-8' },
        content => body_for($id),
    });
    if ($res->{status} !~ /^(200|201|503|599)$/) {
        Test::More::diag("work item $id: $res->{status} $res->{content}");
    }
    return $res->{status};
}

# runs $n children, each calling $work->($i) and printing lines; returns
# all lines
sub in_parallel {
    my ($n, $work) = @_;
    my @pipes;
    for my $i (0 .. $n - 1) {
        pipe my $r, my $w or die $!;
        my $pid = fork // die $!;
        if ($pid == 0) {
            close $r;
            select $w;
            $| = 1;
            $work->($i);
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @pipes, [$pid, $r];
    }
    my @lines;
    for my $p (@pipes) {
        my $fh = $p->[1];
        push @lines, <$fh>;
        waitpid $p->[0], 0;
    }
    chomp @lines;
    return @lines;
}

sub kill_sessions {
    psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
         . "WHERE application_name = 'nginx fluid_devops'");
}

sub error_log {
    open my $fh, '<', "$prefix/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

sub log_is_clean {
    my ($title) = @_;
    my $log = error_log();
    my @bad = grep { /\[(alert|crit|emerg)\]|signal 11|open socket|core dumped/ }
              split /\n/, $log;
    ok(!@bad, "$title: no crash, alert or leaked socket in the error log")
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
}

sub card_count {
    my ($from, $to) = @_;
    my $n = psql("SELECT count(*) FROM fluid.cards WHERE board_id = 1108 "
                 . "AND devops_work_item_id BETWEEN $from AND $to");
    chomp $n;
    return $n;
}


subtest 'deliveries during restarts, killed sessions and reloads' => sub {
    reset_fixture();
    start_nginx(pool => 'fluid_devops_pool_size 4;');

    my ($clients, $each) = (6, 80);
    my $faults = fork // die $!;
    if ($faults == 0) {
        sleep 0.4;  kill_sessions();
        sleep 0.4;  signal_nginx('HUP');
        sleep 0.4;  system("pg_ctlcluster $cluster restart -m fast");
        sleep 0.4;  kill_sessions();
        sleep 0.3;  signal_nginx('HUP');
        sleep 0.3;  system("pg_ctlcluster $cluster restart -m immediate");
        POSIX::_exit(0);
    }

    my @answers = in_parallel($clients, sub {
        my ($c) = @_;
        my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 20);
        for my $i (1 .. $each) {
            my $id = 100000 + $c * 1000 + $i;
            print "$id ", deliver($http, $id), "\n";
            sleep 0.01;
        }
    });
    waitpid $faults, 0;

    my %status = map { split ' ' } @answers;
    is(scalar keys %status, $clients * $each, 'every delivery was answered');

    # 599 is HTTP::Tiny's "no answer": a kept-alive connection that an old
    # worker closed as it quit, just as the next request went out
    my @odd = grep { $status{$_} !~ /^(200|201|503|599)$/ } sort keys %status;
    ok(!@odd, 'every answer during the faults was 200, 201 or 503')
        or diag("unexpected: " . join(', ', map { "$_=$status{$_}" }
                                      @odd[0 .. ($#odd > 9 ? 9 : $#odd)]));

    my $unavailable = grep { $status{$_} == 503 } keys %status;
    my $unanswered = grep { $status{$_} == 599 } keys %status;
    note("$unavailable of " . scalar(keys %status) . " answered 503, "
         . "$unanswered closed unanswered at a reload");

    # DevOps redelivers what was not answered 2xx
    my $http = HTTP::Tiny->new(timeout => 20);
    for my $id (grep { $status{$_} !~ /^20[01]$/ } sort keys %status) {
        for (1 .. 20) {
            my $s = deliver($http, $id);
            $status{$id} = $s;
            last if $s =~ /^20[01]$/;
            sleep 0.25;
        }
    }

    my @lost = grep { $status{$_} !~ /^20[01]$/ } keys %status;
    ok(!@lost, 'every delivery was accepted after redelivery');
    is(card_count(100000, 199999), $clients * $each,
       'exactly one card per work item');

    ok(stop_nginx() < 10, 'nginx quits promptly');
    log_is_clean('faults');
};


subtest 'the same delivery arriving concurrently makes one card' => sub {
    reset_fixture();
    start_nginx(pool => 'fluid_devops_pool_size 16;');

    my @answers = in_parallel(12, sub {
        my $http = HTTP::Tiny->new(timeout => 10);
        print deliver($http, 4242), "\n";
    });

    is(scalar(grep { $_ == 201 } @answers), 1, 'one delivery created it');
    is(scalar(grep { $_ == 200 } @answers), 11, 'the others found it');
    is(card_count(4242, 4242), 1, 'one card');

    stop_nginx();
    log_is_clean('duplicates');
};


subtest 'a full pool answers 503 quickly and loses nothing' => sub {
    reset_fixture();
    start_nginx(pool => 'fluid_devops_pool_size 1; fluid_devops_pool_queue 2; '
                        . 'fluid_devops_pool_wait_timeout 300ms;');

    lock_cards(1.5);

    my $t0 = time;
    my @answers = in_parallel(8, sub {
        my ($c) = @_;
        my $http = HTTP::Tiny->new(timeout => 10);
        my $t = time;
        my $s = deliver($http, 5000 + $c);
        printf "%d %d %.2f\n", 5000 + $c, $s, time - $t;
    });

    my %status;
    my $slow503 = 0;
    for (@answers) {
        my ($id, $s, $t) = split ' ';
        $status{$id} = $s;
        $slow503++ if $s == 503 && $t > 1.0;
    }

    ok(!grep({ !/^(201|503)$/ } values %status), 'answers are 201 or 503');
    ok(scalar(grep { $_ == 503 } values %status) >= 5,
       'deliveries beyond the pool and its queue get 503');
    is($slow503, 0, 'a 503 for a full pool comes without waiting for the lock');

    sleep 1.6;
    my $http = HTTP::Tiny->new(timeout => 10);
    for my $id (grep { $status{$_} == 503 } keys %status) {
        is(deliver($http, $id), 201, "redelivery of $id is created");
    }
    is(card_count(5000, 5007), 8, 'every work item is one card');

    stop_nginx();
    log_is_clean('pool');
};


subtest 'a client that leaves mid-query does not lose its card' => sub {
    reset_fixture();
    start_nginx();

    lock_cards(1);

    my $body = body_for(6001);
    my $sock = IO::Socket::INET->new("127.0.0.1:$port") or die $!;
    print $sock "POST /d/692/1108 HTTP/1.1\r\nHost: localhost\r\n"
        . "Authorization: $auth\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
    sleep 0.2;
    close $sock;

    sleep 1.3;
    is(card_count(6001, 6001), 1, 'the statement finished and committed');

    my $http = HTTP::Tiny->new(timeout => 10);
    is(deliver($http, 6002), 201, 'the pooled connection still works');

    stop_nginx();
    log_is_clean('client abort');
};


subtest 'a graceful quit answers the deliveries in flight' => sub {
    reset_fixture();
    # one connection: the others wait in the queue while the worker quits
    start_nginx(pool => 'fluid_devops_pool_size 1;');

    lock_cards(1);

    my $quitter = fork // die $!;
    if ($quitter == 0) {
        sleep 0.3;
        signal_nginx('QUIT');
        POSIX::_exit(0);
    }

    my @answers = in_parallel(4, sub {
        my ($c) = @_;
        my $http = HTTP::Tiny->new(timeout => 10);
        print deliver($http, 7000 + $c), "\n";
    });
    waitpid $quitter, 0;

    is_deeply([sort @answers], [201, 201, 201, 201],
              'every delivery in flight was answered 201');
    is(card_count(7000, 7003), 4, 'and committed');

    my $pid = master_pid();
    my $t0 = time;
    sleep 0.05 while $pid && kill(0, $pid) && time - $t0 < 10;
    ok(!($pid && kill 0, $pid), 'nginx has exited');
    log_is_clean('quit');
};


subtest 'reloads with idle pooled connections leave no socket behind' => sub {
    reset_fixture();
    start_nginx();

    my $http = HTTP::Tiny->new(timeout => 10);
    for my $round (1 .. 3) {
        is(deliver($http, 8000 + $round), 201, "delivery before reload $round");
        signal_nginx('HUP');
        sleep 0.5;
    }
    is(deliver($http, 8100), 201, 'delivery after the reloads');

    ok(stop_nginx() < 5, 'nginx quits promptly with idle connections');
    log_is_clean('reloads');
};


done_testing();
