# Settings, nginx.conf generation, server root setup and nginx process control for Test::Nginx::Socket.
package Test::Nginx::Util;

use strict;
use warnings;

use base 'Exporter';

use Carp qw(croak);
use Config ();
use File::Find ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use File::Temp ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(SIGKILL SIGQUIT SIGTERM WNOHANG);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes qw(sleep);

our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled        = 'on';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $RepeatEach           = 1;
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoRootLocation       = 0;
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $UseHup               = $ENV{TEST_NGINX_USE_HUP};
our $UseValgrind          = $ENV{TEST_NGINX_USE_VALGRIND};
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ForceRestartOnTest   = $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} // 1;
our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $NoLongString;
our $ConfigPreamble = '';
our $FilterHttpConfig;

our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers);
our ($RunTestHelper, $CheckErrorLog, $CheckShutdownErrorLog);
our ($PrevConfig, $PrevBlock, $ConfigVersion, $ChildPid, $InSubprocess);
our ($NginxVersion, $NginxRawVersion);
our $ErrLogFilePos = 0;
our $FirstTime = 1;

$DaemonEnabled = 'off' if $UseValgrind;

our $ServRoot   = $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our @EXPORT = qw(
    env_to_nginx is_str no_long_string server_addr server_name parse_time
    verbose sleep_time bail_out add_cleanup_handler access_log_data
    error_log_data trim show_all_chars parse_headers run_tests run_test
    add_block_preprocessor timeout worker_connections workers master_on
    master_off config_preamble repeat_each master_process_enabled log_level
    no_shuffle no_root_location html_dir server_root server_port
    server_port_for_client no_nginx_manager use_hup check_accum_error_log
    get_pid_from_pidfile get_canon_version is_running
    $ServerPort $ServerPortForClient $ServerAddr $ServerName $NoLongString
    $ServRoot $ConfFile $PidFile $ErrLogFile $NginxVersion $RepeatEach
    $RunTestHelper $CheckErrorLog $CheckShutdownErrorLog $FilterHttpConfig
);

# ---- simple getters and setters ------------------------------------------

sub _accessor {
    my ($ref, @args) = @_;
    $$ref = shift @args if @args;
    return $$ref;
}

sub server_port (@)            { _accessor(\$ServerPort, @_) }
sub server_port_for_client (@) { _accessor(\$ServerPortForClient, @_) }
sub server_addr (@)            { _accessor(\$ServerAddr, @_) }
sub server_name (@)            { _accessor(\$ServerName, @_) }
sub timeout (@)                { _accessor(\$Timeout, @_) }
sub workers (@)                { _accessor(\$Workers, @_) }
sub worker_connections (@)     { _accessor(\$WorkerConnections, @_) }
sub log_level (@)              { _accessor(\$LogLevel, @_) }
sub repeat_each (@)            { _accessor(\$RepeatEach, @_) }
sub config_preamble ($)        { $ConfigPreamble = shift }
sub no_long_string ()          { $NoLongString = 1 }
sub no_shuffle ()              { $NoShuffle = 1 }
sub no_root_location ()        { $NoRootLocation = 1 }
sub no_nginx_manager ()        { $NoNginxManager = 1 }
sub use_hup ()                 { $UseHup = 1 }
sub check_accum_error_log ()   { $CheckAccumErrLog = 1 }
sub master_on ()               { $MasterProcessEnabled = 'on' }
sub master_off ()              { $MasterProcessEnabled = 'off' }
sub html_dir ()                { $HtmlDir }
sub server_root ()             { $ServRoot }
sub sleep_time                 { $TestNginxSleep }
sub verbose                    { $Verbose }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }

sub master_process_enabled (@) {
    $MasterProcessEnabled = shift() ? 'on' : 'off' if @_;
    return $MasterProcessEnabled;
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(@_);
}

# ---- small text helpers ----------------------------------------------------

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    return Test::More::like($got, $expected, $desc) if ref $expected eq 'Regexp';
    return Test::More::is($got, $expected, $desc) if $NoLongString;
    require Test::LongString;
    return Test::LongString::is_string($got, $expected, $desc);
}

sub parse_time ($) {
    my $tm = shift;
    return $tm unless defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        return $tm / 1000;
    }
    $tm =~ s/([^_a-zA-Z])s$/$1/;
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    return $s;
}

# "Name: value" per line; "!Name" means the header must be absent (undef).
sub parse_headers ($) {
    my %headers;
    for my $line (split /\n/, shift // '') {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
            next;
        }
        my ($key, $val) = split /\s*:\s*/, $line, 2;
        $headers{$key // ''} = $val;
    }
    return \%headers;
}

sub get_canon_version (@) {
    sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of the Nginx in PATH: " . ($out // ''));
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

# ---- environment expansion in config text ----------------------------------

sub gen_rand_port {
    my $used = shift;
    for (1 .. 1000) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port, Proto => 'tcp');
        next unless $sock;
        $sock->close;
        return $port;
    }
    return undef;
}

sub expand_one_var {
    my ($var, $name, $rand_ports) = @_;
    if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
        return $rand_ports->{$var} //= do {
            my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
            gen_rand_port(\%used)
                // bail_out("$name - Cannot find an available listening port number for $var.\n");
        };
    }
    bail_out("$name - No environment $var defined.\n") unless defined $ENV{$var};
    return $ENV{$var};
}

sub expand_env_in_text {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $text =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/expand_one_var($1, $name, $rand_ports)/eg;
    return $text;
}

# ---- log files ---------------------------------------------------------------

sub read_lines_from {
    my ($file, $pos) = @_;
    open my $in, '<', $file or return (undef, $pos);
    seek $in, $pos, 0 if $pos > 0;
    my @lines = <$in>;
    my $end = tell $in;
    close $in;
    return (\@lines, $end);
}

# New error log lines since the last call (all lines with check_accum_error_log).
sub error_log_data () {
    sleep $TestNginxSleep * 3;
    my ($lines, $end) = read_lines_from($ErrLogFile, $CheckAccumErrLog ? 0 : $ErrLogFilePos);
    $ErrLogFilePos = $end if $lines && !$CheckAccumErrLog;
    return $lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    my ($lines) = read_lines_from($AccLogFile, 0);
    die "open $AccLogFile failed: $!" unless $lines;
    return $lines;
}

sub error_log_tail {
    my $n = shift;
    my ($lines) = read_lines_from($ErrLogFile, 0);
    return '' unless $lines;
    my @tail = @$lines > $n ? @$lines[-$n .. -1] : @$lines;
    return join '', @tail;
}

# ---- server root and config file ---------------------------------------------

sub clean_server_root {
    my $first_time = shift;
    remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
    if (!$UseHup) {
        remove_tree($HtmlDir, $LogDir);
        rmdir $ServRoot or bail_out("Can't remove $ServRoot (not empty?): $!");
        return;
    }
    my $keep = qr/(?:\bnginx\.pid|\.sock|\.crt|\.key)$/;
    File::Find::find({ no_chdir => 1, wanted => sub {
        return if -d $_;
        return if $_ =~ $keep && !$first_time;
        unlink $_ or warn "Failed to remove $_\n";
    } }, $ServRoot);
}

sub setup_server_root ($) {
    my $first_time = shift;
    clean_server_root($first_time) if -d $ServRoot;
    for my $dir ($ServRoot, $LogDir, $HtmlDir) {
        next if -d $dir;
        mkdir $dir or bail_out("Failed to do mkdir $dir\n");
    }
    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
    mkdir $ConfDir or bail_out("Failed to do mkdir $ConfDir\n");
}

# ">>> name [date]" lines start files; or an array of [name, body, date].
sub parse_user_files {
    my ($files, $name) = @_;
    return $files if ref $files eq 'ARRAY';
    bail_out("$name - wrong value type: ", ref $files, ", only scalar or ARRAY are accepted")
        if ref $files;
    my (@list, $cur);
    for my $line (split /^/, $files) {
        if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
            $cur = [$1, undef, $2];
            push @list, $cur;
        } elsif ($cur) {
            $cur->[1] .= $line;
        }
    }
    return \@list;
}

sub write_user_files {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files or return;
    for my $file (@{ parse_user_files($files, $name) }) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory ", $1);
        }
        $body = expand_env_in_text($body // '', $name, $rand_ports);
        open my $out, '>', $path or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        next unless $date;
        system("TZ=GMT touch -t '$date' $HtmlDir/$fname") == 0
            or bail_out("Failed to set the date of $fname\n");
    }
}

sub main_section_text {
    my ($block, $name, $rand_ports) = @_;
    my $err_log = $block->error_log_file || $ErrLogFile;
    my $text = "worker_processes  $Workers;\n"
        . "daemon $DaemonEnabled;\n"
        . "master_process $MasterProcessEnabled;\n"
        . "error_log $err_log $LogLevel;\n"
        . "pid       $PidFile;\n";
    $text .= "env $_;\n" for qw(MOCKEAGAIN_VERBOSE MOCKEAGAIN
        MOCKEAGAIN_WRITE_TIMEOUT_PATTERN LD_PRELOAD LD_LIBRARY_PATH
        DYLD_INSERT_LIBRARIES DYLD_FORCE_FLAT_NAMESPACE);
    $text .= 'env ' . ($_ =~ /\s/ ? "'$_'" : $_) . ";\n" for @EnvToNginx;
    my $main = $block->main_config // '';
    $main .= join ' ', map { "load_module $_;" } grep { $_ ne '' } split /\s+/,
        $ENV{TEST_NGINX_LOAD_MODULES} // '';
    $main = expand_env_in_text($main, $name, $rand_ports);
    return "$text\n$main\n";
}

sub server_section_text {
    my ($block, $config) = @_;
    my $server_name = $block->server_name // $ServerName;
    my $text = "    server {\n"
        . "        listen          $ServerPort;\n"
        . "        server_name     '$server_name';\n\n"
        . "        client_max_body_size 30M;\n\n"
        . "        # Begin preamble config...\n$ConfigPreamble\n"
        . "        # End preamble config...\n\n"
        . "        # Begin test case config...\n$config\n"
        . "        # End test case config.\n\n";
    $text .= "        location / {\n"
        . "            root $HtmlDir;\n"
        . "            index index.html index.htm;\n"
        . "        }\n" unless $NoRootLocation;
    return "$text    }\n";
}

sub version_server_text {
    return '' unless $UseHup;
    return "    server {\n"
        . "        listen          $ServerPort;\n"
        . "        server_name     'Test-Nginx';\n\n"
        . "        location = /ver {\n"
        . "            return 200 '$ConfigVersion';\n"
        . "        }\n"
        . "    }\n";
}

sub http_section_text {
    my ($block, $config, $name, $rand_ports) = @_;
    my $http_config = expand_env_in_text(scalar $block->http_config, $name, $rand_ports) // '';
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;
    return "http {\n"
        . "    access_log $AccLogFile;\n\n"
        . "    default_type text/plain;\n"
        . "    keepalive_timeout  68;\n\n"
        . "$http_config\n\n"
        . server_section_text($block, $config // '')
        . version_server_text()
        . "}\n";
}

sub tail_section_text {
    my ($block, $name, $rand_ports) = @_;
    my $post_main = expand_env_in_text($block->post_main_config // '', $name, $rand_ports);
    my $text = "\n$post_main\n\n"
        . "events {\n"
        . "    accept_mutex off;\n\n"
        . "    worker_connections  $WorkerConnections;\n"
        . ($ENV{TEST_NGINX_EVENT_TYPE} ? "    use $ENV{TEST_NGINX_EVENT_TYPE};\n" : '')
        . "}\n";
    $text .= "env $_;\n" for qw(ASAN_OPTIONS MOCKNOEAGAIN_VERBOSE MOCKNOEAGAIN);
    if (defined $WorkerUser) {
        $text .= "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $text .= "user root;\n";
    }
    return $text;
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;
    master_on() if $UseHup;
    my $text = main_section_text($block, $name, $rand_ports)
        . http_section_text($block, $config, $name, $rand_ports)
        . tail_section_text($block, $name, $rand_ports);
    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out $text;
    close $out;
}

sub prepare_server_files {
    my ($block, $config, $rand_ports, $first_time) = @_;
    setup_server_root($first_time);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);
}

# ---- nginx processes -----------------------------------------------------------

# A zombie waiting for a slow init to reap it has released everything: not running.
sub is_running ($) {
    my $pid = shift;
    return 0 unless kill 0, $pid;
    open my $in, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$in> // '';
    close $in;
    return $stat =~ /^\d+ \(.*\) Z/s ? 0 : 1;
}

sub get_pid_from_pidfile ($) {
    my $name = shift;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for reading: $!");
    my $pid = do { local $/; <$in> };
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

sub wait_for_exit {
    my ($pid, $secs) = @_;
    while ($secs > 0 && is_running($pid)) {
        waitpid($pid, WNOHANG);
        sleep 0.05;
        $secs -= 0.05;
    }
    return !is_running($pid);
}

# QUIT, then TERM, then KILL, waiting in between.
sub kill_process {
    my ($pid, $wait, $name) = @_;
    return unless defined $pid;
    if ($wait) {
        kill SIGQUIT, $pid;
        return if wait_for_exit($pid, timeout());
        warn "$name - timeout when waiting for the process $pid to exit\n";
    }
    kill SIGTERM, $pid;
    return if wait_for_exit($pid, 1);
    warn "$name - WARNING: killing the child process $pid with force...\n";
    kill SIGKILL, (getpgrp($pid) == $pid ? -$pid : $pid);
    waitpid($pid, 0);
}

sub running_nginx_pid {
    my $name = shift;
    return undef unless -f $PidFile;
    my $pid = get_pid_from_pidfile($name);
    return undef if !defined $pid || $pid eq '';
    return $pid if is_running($pid);
    unlink $PidFile or warn "WARNING: failed to remove pid file $PidFile\n";
    return undef;
}

sub gen_rand_str {
    my $len = shift;
    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
    return join '', map { $chars[rand @chars] } 1 .. $len;
}

sub fetch_config_version {
    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr, PeerPort => $ServerPort,
                                     Proto => 'tcp', Timeout => 2) or return '';
    print $sock "GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n";
    my $resp = do { local $/; <$sock> } // '';
    close $sock;
    return $resp =~ /\r\n\r\n(.*)\z/s ? $1 : '';
}

# After a HUP, wait until the new configuration answers consistently.
sub test_config_version {
    my $name = shift;
    my $nsucc = 0;
    for my $tries (1 .. 200) {
        if (fetch_config_version() eq $ConfigVersion) {
            return if ++$nsucc >= 20;
            next;
        }
        $nsucc = 0;
        my $wait = ($TestNginxSleep + $TestNginxSleep * $tries) * $tries / 2;
        sleep($wait > 1 ? 1 : $wait);
    }
    Test::More->builder->no_ending(1);
    Test::More::fail("$name - failed to reload configuration after 200 failed test requests");
}

sub reload_nginx {
    my ($block, $config, $rand_ports, $pid) = @_;
    my $name = $block->name;
    prepare_server_files($block, $config, $rand_ports, 0);
    if (!kill 'USR1', $pid) {
        warn "$name - Failed to send USR1 signal\n";
        return 0;
    }
    sleep $TestNginxSleep;
    return 0 unless kill 'HUP', $pid;
    sleep $TestNginxSleep * 3;
    warn "$name\n" if $UseValgrind;
    if (defined $block->reload_fails) {
        sleep 0.3;
    } else {
        test_config_version($name);
    }
    check_prev_block_shutdown_error_log();
    return 1;
}

sub can_run {
    my $cmd = shift;
    if ($cmd =~ m{[/\\]}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }
    for my $dir ((split /\Q$Config::Config{path_sep}\E/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

sub valgrind_cmd {
    my $cmd = shift;
    return "valgrind -q $UseValgrind $cmd" if $UseValgrind !~ /^\d+$/;
    my $opts = '--tool=memcheck --leak-check=full --show-possibly-lost=no';
    my $supp = -f 'valgrind.suppress' ? ' --suppressions=valgrind.suppress' : '';
    return "valgrind --num-callers=100 -q $opts --gen-suppressions=all$supp $cmd";
}

# Valgrind mode: nginx runs in the foreground as our child; its stderr is ours.
sub spawn_nginx {
    my ($name, $cmd) = @_;
    warn "$name\n";
    my $pid = fork();
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        setpgrp;
        Test::More->builder->no_ending(1);
        $InSubprocess = 1;
        exec "exec $cmd" or POSIX::_exit(127);
    }
    $ChildPid = $pid;
    sleep $TestNginxSleep;
    return 1;
}

sub stop_spawned_nginx {
    my $name = shift;
    return unless defined $ChildPid;
    kill SIGQUIT, $ChildPid;
    my $left = timeout() * 10;
    while ($left > 0 && waitpid($ChildPid, WNOHANG) == 0) {
        sleep 0.05;
        $left -= 0.05;
    }
    if ($left <= 0) {
        warn "$name - timeout when waiting for the process $ChildPid to exit\n";
        kill SIGKILL, -$ChildPid;
        waitpid($ChildPid, 0);
    }
    undef $ChildPid;
    unlink $PidFile if -f $PidFile;
}

# Startup messages are copied into logs/error.log, where an nginx built with
# the default prefix-relative error log path writes them itself.
sub run_nginx_cmd {
    my $cmd = shift;
    my $err = File::Temp->new;
    system("$cmd 2>" . $err->filename);
    my $status = $?;
    my $stderr = do { local $/; open my $in, '<', $err->filename; <$in> } // '';
    if ($stderr ne '' && -d $LogDir && open my $log, '>>', $ErrLogFile) {
        print $log $stderr;
        close $log;
    }
    return ($status, $stderr);
}

# Daemon mode: retry while the port is still held by a previous instance.
sub start_daemon_nginx {
    my ($name, $cmd) = @_;
    my $waited = 0;
    for (my $i = 1; ; $i++) {
        $ErrLogFilePos = 0;
        my ($status, $stderr) = run_nginx_cmd($cmd);
        if ($status == 0) {
            print STDERR $stderr if $stderr ne '';
            sleep $TestNginxSleep;
            return 1;
        }
        if ($stderr =~ /Address already in use/ && $waited < 30) {
            my $delay = 0.1 * $i > 1 ? 1 : 0.1 * $i;
            sleep $delay;
            $waited += $delay;
            next;
        }
        report_start_failure($name, $cmd, $status, $stderr);
        return 0;
    }
}

sub report_start_failure {
    my ($name, $cmd, $status, $stderr) = @_;
    Test::More::fail("$name - Cannot start nginx using command \"$cmd\" (status code $status)");
    Test::More::diag("nginx stderr:\n$stderr") if $stderr ne '';
    my $tail = error_log_tail(20);
    Test::More::diag("tail of $ErrLogFile:\n$tail") if $tail ne '';
}

sub must_die_results {
    my ($name, $must_die, $status, $i) = @_;
    my $exit_code = $status == -1 ? undef : $status >> 8;
    my $coredump = $status != -1 && ($status > (128 << 8) || ($status & 128));
    if ($status == -1) {
        Test::More::fail("$name - failed to execute the nginx command line");
    } elsif ($coredump) {
        Test::More::fail("$name - nginx core dumped");
    } elsif (looks_like_number($must_die)) {
        Test::More::is($must_die, $exit_code, "$name - die with the expected exit code");
    } else {
        Test::More::isnt($status, 0, "$name - die as expected");
    }
}

sub run_must_die {
    my ($block, $cmd, $must_die) = @_;
    my $name = $block->name;
    for my $i (0 .. $RepeatEach - 1) {
        $ErrLogFilePos = 0;
        my ($status, $stderr) = run_nginx_cmd($cmd);
        print STDERR $stderr;
        must_die_results($name, $must_die, $status, $i);
        $CheckErrorLog->($block, undef, 0, $i, 0);
        next unless $status == 0;
        warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
        for (1 .. 15) { last if -f $PidFile; sleep $TestNginxSleep; }
        kill_process(get_pid_from_pidfile($name), 1, $name);
    }
    return 0;
}

sub start_nginx {
    my ($block, $must_die) = @_;
    my $name = $block->name;
    bail_out("$name - Cannot find the nginx executable in the PATH environment")
        unless can_run($NginxBinary);
    my $cmd = "$NginxBinary -p $ServRoot/ -c $ConfFile > /dev/null";
    return spawn_nginx($name, valgrind_cmd($cmd)) if $UseValgrind;
    return run_must_die($block, $cmd, $must_die) if defined $must_die;
    return start_daemon_nginx($name, $cmd);
}

# Returns true when the block's requests may be sent.
sub restart_nginx {
    my ($block, $config, $rand_ports, $first_time, $must_die) = @_;
    my $name = $block->name;
    $ConfigVersion = gen_rand_str(10) if $UseHup;
    if (my $pid = running_nginx_pid($name)) {
        return 1 if $UseHup && !$first_time
            && reload_nginx($block, $config, $rand_ports, $pid);
        kill_process($pid, 1, $name);
    }
    check_prev_block_shutdown_error_log();
    prepare_server_files($block, $config, $rand_ports, $first_time);
    return start_nginx($block, $must_die);
}

sub check_prev_block_shutdown_error_log {
    my $block = $PrevBlock or return;
    return unless defined $block->shutdown_error_log;
    my $dry_run = ($UseHup || $ENV{TEST_NGINX_NO_CLEAN}) ? 1 : 0;
    $CheckShutdownErrorLog->($block, $dry_run);
}

# ---- block flow ----------------------------------------------------------------

sub version_matches {
    my ($op, $ver) = @_;
    return $op =~ /^</ unless defined $NginxVersion;
    return eval "$NginxVersion $op $ver";
}

# Returns (number of tests to skip, reason) when --- skip_eval/skip_nginx applies.
sub skip_spec {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            my ($n, $code) = ($1, $2);
            my $skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
            return ($n, 'skip_eval') if $skip;
        }
    }
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($n, $op, $reason) = ($1, $2, $6);
        my $ver = get_canon_version($3, $4, $5);
        return ($n, $reason || "nginx version $op $3.$4.$5") if version_matches($op, $ver);
    }
    return;
}

sub todo_spec {
    my $block = shift;
    my $todo = $block->todo;
    return unless defined $todo;
    $todo =~ /^\s*(\d+)\s*:\s*(.*)/s or bail_out($block->name . " - Invalid --- todo spec: $todo");
    return ($1, $2);
}

# Decides whether nginx must be (re)started for this block.
sub needs_restart {
    my ($block, $config) = @_;
    if (!defined $config) {
        bail_out($block->name . " - No '--- config' section specified and could not get"
                 . " previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?")
            if !$NoNginxManager && !defined $PrevConfig;
        return 0;
    }
    if ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for " . $block->name . " ignored");
        return 0;
    }
    return 1 if $ForceRestartOnTest;
    return !defined $PrevConfig || $config ne $PrevConfig;
}

sub run_block_requests {
    my ($block, $rand_ports, $skip_n, $skip_reason) = @_;
    my $name = $block->name;
    my ($todo_n, $todo_reason) = todo_spec($block);
    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        write_user_files($block, $rand_ports) if $i > 1;
        SKIP: {
            Test::More::skip("$name - $skip_reason", $skip_n) if defined $skip_n;
            TODO: {
                Test::More::todo_skip("$name - $todo_reason", $todo_n) if defined $todo_n;
                $RunTestHelper->($block, 0, $i - 1);
            }
        }
    }
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;
    my $name = $block->name;
    my $first_time = $FirstTime;
    undef $FirstTime;
    my $rand_ports = {};
    my $config = expand_env_in_text(scalar $block->config, $name, $rand_ports);
    local $LogLevel = $block->log_level || $LogLevel;
    local $UseValgrind = $UseValgrind;
    local $UseHup = $UseHup;
    my $must_die = $block->must_die;
    if (defined $must_die) {
        undef $UseValgrind;
        undef $UseHup;
    }
    my ($skip_n, $skip_reason) = skip_spec($block);
    my $restart = needs_restart($block, $config);

    if (!$NoNginxManager && !defined $skip_n && $restart) {
        $PrevConfig = $config;
        my $ok = restart_nginx($block, $config, $rand_ports, $first_time, $must_die);
        return if defined $must_die || !$ok;
    }

    if (defined(my $init = $block->init)) {
        eval $init;
        bail_out("$name - init failed: $@") if $@;
    }
    run_block_requests($block, $rand_ports, $skip_n, $skip_reason);
    stop_spawned_nginx($name) if $UseValgrind && !$UseHup;
}

sub run_tests () {
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort unless defined $ENV{TEST_NGINX_SERVER_PORT};
    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $PrevBlock = $block;
    }
    cleanup();
}

sub cleanup {
    $_->() for @CleanupHandlers;
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, 'cleanup');
        undef $ChildPid;
    }
}

END {
    return if $InSubprocess;
    local $?;
    cleanup();
    if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
        my $pid = -f $PidFile ? get_pid_from_pidfile('END') : undef;
        if ($pid && is_running($pid)) {
            kill_process($pid, 1, 'END');
        } elsif (-f $PidFile) {
            unlink $PidFile;
        }
    }
    check_prev_block_shutdown_error_log();
}

1;
