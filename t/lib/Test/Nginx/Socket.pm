# Data-driven nginx test scaffold that reads the block format of OpenResty's Test::Nginx::Socket.
package Test::Nginx::Socket;

use strict;
use warnings;

use Test::Base -base;
use Test::Nginx::Util;

use Digest::MD5 ();
use Digest::SHA ();
use Encode ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min);
use POSIX qw(EAGAIN EINTR WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep);

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_cleanup_handler add_response_body_check
);

our @ResponseBodyChecks;
our $TotalConnectingTimeouts = 0;

$RunTestHelper         = \&run_test_helper;
$CheckErrorLog         = \&check_error_log;
$CheckShutdownErrorLog = \&check_shutdown_error_log;

sub add_response_body_check ($) {
    push @ResponseBodyChecks, shift;
}

sub set_http_config_filter ($) {
    $FilterHttpConfig = shift;
}

sub no_ending {
    Test::More->builder->no_ending(1);
}

sub str_is {
    my ($got, $expected, $desc) = @_;
    return Test::More::is($got, $expected, $desc) if $NoLongString;
    require Test::LongString;
    return Test::LongString::is_string($got, $expected, $desc);
}

sub fmt_str {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

# ---- building requests -------------------------------------------------------

# First line is "METHOD [URI [VERSION]]"; everything after it is the body.
sub parse_request {
    my ($name, $text) = @_;
    $text //= '';
    my ($first, $content) = $text =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") if $first eq '';
    $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be 'meth [url [version]]'"
                    . " but got \"$first\".");
    return { method => $2, url => $5 // '/', http_ver => $8 // 'HTTP/1.1',
             content => $content };
}

sub parse_more_headers {
    my $in = shift;
    my ($out, $is_chunked) = ('', undef);
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $key //= '';
        $val //= '';
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Adds Host, Connection and (for non-chunked bodies) Content-Length headers.
sub build_request {
    my ($name, $more_headers, $is_chunked, $conn_header, $text) = @_;
    my $req = parse_request($name, $text);
    my $content = $req->{content};
    my $len_header = '';
    if (!$is_chunked && $content ne '' && $more_headers !~ /(?:^|\n)Content-Length:/) {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = 'Content-Length: ' . length($content) . "\r\n";
    }
    $more_headers =~ s/(?<!\r)\n/\r\n/gs;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn_header\r\n" if $more_headers !~ /(?:^|\n)Connection/msi;
    return "$req->{method} $req->{url} $req->{http_ver}\r\n"
        . "$headers$more_headers$len_header\r\n$content";
}

sub headers_for {
    my ($more_headers, $i, $name) = @_;
    return parse_more_headers($more_headers) if ref $more_headers ne 'ARRAY';
    my $hdr = $more_headers->[$i];
    bail_out("$name - --- more_headers lacks data for request $i") unless defined $hdr;
    return parse_more_headers($hdr);
}

sub request_text {
    my $block = shift;
    if (defined(my $code = $block->request_eval)) {
        Test::More::diag($block->name . " - request_eval DEPRECATED. Use request eval instead.");
        my $request = eval $code;
        warn $@ if $@;
        return $request;
    }
    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    }
    return $request;
}

sub pipelined_request {
    my ($block, $more_headers) = @_;
    my $name = $block->name;
    my $reqs = $block->pipelined_requests;
    bail_out("$name - invalid entries in --- pipelined_requests") if ref $reqs ne 'ARRAY';
    my $buf = '';
    for my $i (0 .. $#$reqs) {
        my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
        my ($hdr, $chunked) = headers_for($more_headers, $i, $name);
        $buf .= build_request($name, $hdr, $chunked, $conn, $reqs->[$i]);
    }
    return [{ value => $buf }];
}

# Returns a list of requests; each request is a list of packets ({value, delay_before}).
sub get_req_from_block {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $raw = $block->raw_request)) {
        return [[ map { { value => $_ } } @$raw ]] if ref $raw eq 'ARRAY';
        return [[ { value => $raw } ]];
    }
    my $request = request_text($block);
    my $more_headers = $block->more_headers || '';
    return [ pipelined_request($block, $more_headers) ] if $block->pipelined_requests;
    my @reqs = ref $request eq 'ARRAY' ? @$request : ($request);
    bail_out("$name - invalid ---request : MUST be string or array of requests")
        if ref $request && ref $request ne 'ARRAY';
    my @list;
    for my $i (0 .. $#reqs) {
        bail_out("$name - arrays of packets in --- request are not supported by this runner;"
                 . " use --- raw_request with an array instead") if ref $reqs[$i];
        my ($hdr, $chunked) = headers_for($more_headers, $i, $name);
        push @list, [{ value => build_request($name, $hdr, $chunked, 'close', $reqs[$i]) }];
    }
    return \@list;
}

# ---- talking to nginx -----------------------------------------------------------

sub child_gone {
    my $pid = $Test::Nginx::Util::ChildPid;
    return defined $pid && waitpid($pid, WNOHANG) != 0;
}

sub connect_failed {
    my ($msg) = @_;
    if (++$TotalConnectingTimeouts < 3) {
        no_ending();
        Test::More::fail($msg);
        return;
    }
    bail_out($msg);
}

sub connect_server {
    my ($block, $timeout) = @_;
    my $name = $block->name;
    my $addr = $block->server_addr_for_client // $ServerAddr;
    my $total = $TotalConnectingTimeouts ? 20 : 50;
    my $err = '';
    for my $tries (1 .. $total) {
        my $sock = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $ServerPortForClient,
                                         Proto => 'tcp', Timeout => $timeout);
        if ($sock) {
            $sock->blocking(0);
            return $sock;
        }
        $err = $!;
        if (child_gone()) {
            warn "WARNING: Child process $Test::Nginx::Util::ChildPid is already gone.\n";
            warn Test::Nginx::Util::error_log_tail(20);
            no_ending();
            Test::More::fail("$name - Can't connect to $addr:$ServerPortForClient: $err (aborted)\n");
            return;
        }
        my $wait = min(1, (sleep_time() + sleep_time() * $tries) * $tries / 2);
        warn "$name - Can't connect to $addr:$ServerPortForClient: $err\n" if $wait >= 0.6;
        sleep $wait;
    }
    connect_failed("$name - Can't connect to $addr:$ServerPortForClient: $err (aborted)\n");
    return;
}

sub write_some {
    my $ctx = shift;
    while (1) {
        my $rest = length($ctx->{buf}) - $ctx->{off};
        if ($rest > 0) {
            my $n = syswrite($ctx->{sock}, $ctx->{buf}, $rest, $ctx->{off});
            if (!defined $n) {
                return 1 if $! == EAGAIN;
                my $err = "write failed: $!";
                warn "$err\n";
                $ctx->{resp} = $err if $ctx->{resp} eq '';
                return undef;
            }
            $ctx->{off} += $n;
            next;
        }
        my $next = shift @{ $ctx->{bits} } or return 2;
        $ctx->{buf} = $next->{value} // '';
        $ctx->{off} = 0;
        my $wait = $next->{delay_before} // $ctx->{middle_delay};
        sleep $wait if $wait;
    }
}

# Returns false once the peer closed the connection or reading failed.
sub read_some {
    my $ctx = shift;
    while (1) {
        my $n = sysread($ctx->{sock}, my $buf, 4096);
        if (!defined $n) {
            return 1 if $! == EAGAIN;
            warn "WARNING: $ctx->{name} - HTTP response read failure: $!\n";
            return undef;
        }
        return undef if $n == 0;
        $ctx->{resp} .= $buf;
    }
}

sub shutdown_if_asked {
    my ($block, $sock) = @_;
    my $how = $block->shutdown;
    return unless defined $how;
    $how = 1 if $how =~ /^$/s;
    shutdown($sock, $how);
}

sub on_timeout {
    my ($block) = @_;
    if (defined $block->abort) {
        sleep 0.005;
        return;
    }
    no_ending();
    Test::More::fail("ERROR: client socket timed out - " . $block->name . "\n");
}

sub exchange {
    my ($sock, $bits, $middle_delay, $timeout, $block) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $first = shift @$bits;
    my $ctx = { sock => $sock, resp => '', buf => $first->{value} // '', off => 0,
                bits => $bits, middle_delay => $middle_delay, name => $block->name };
    my $sel = IO::Select->new($sock);
    my $writing = 1;
    while (1) {
        $! = 0;
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef, undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            on_timeout($block);
            last;
        }
        last if @$r && !read_some($ctx);
        next unless $writing && @$w;
        my $st = write_some($ctx) or last;
        next unless $st == 2;
        $writing = 0;
        shutdown_if_asked($block, $sock);
    }
    close $sock;
    return $ctx->{resp};
}

sub send_request {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my @bits = @$packets;
    my $head_req = (join '', map { $_->{value} // '' } @bits) =~ /^\s*HEAD\s+/ ? 1 : 0;
    my $sock = connect_server($block, $timeout) or return (undef, $head_req);
    return (exchange($sock, \@bits, $middle_delay, $timeout, $block), $head_req);
}

# ---- parsing responses ------------------------------------------------------------

# Returns (body, leftover bytes) or (undef, undef, error message).
sub decode_chunked {
    my $raw = shift;
    my $decoded = '';
    while (1) {
        if ($raw =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
            my $left = $raw =~ /\G (.+) /gcsx ? $1 : undef;
            return ($decoded, $left);
        }
        if ($raw =~ /\G [\ \t]* ([A-Fa-f0-9]+) [\ \t]* \r\n /gcsx) {
            my $size = hex $1;
            my $pos = pos $raw;
            return (undef, undef, 'invalid chunked data received '
                    . '(not enought octets for the data section)') if length($raw) - $pos < $size;
            $decoded .= substr $raw, $pos, $size;
            pos($raw) = $pos + $size;
            return (undef, undef, 'invalid chunked data received (expected CRLF).')
                unless $raw =~ /\G\r\n/gcs;
            next;
        }
        return (undef, undef, "invalid chunked body received: $&") if $raw =~ /\G.+/gcs;
        return (undef, undef, "no last chunk found - $raw");
    }
}

# Returns (HTTP::Response, raw header text, bytes after this response).
sub parse_response {
    my ($name, $raw, $head_req) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;
    if ($code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);
    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    if (defined $enc && $enc eq 'chunked') {
        my ($body, $left, $err) = decode_chunked($res->content // '');
        if (defined $err) {
            no_ending();
            Test::More::fail("$name - $err");
            return;
        }
        $res->content($body);
        return ($res, $raw_headers, $left);
    }
    if (defined $len && $len =~ /^\d+$/) {
        my $body = $res->content;
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, but got ",
                length $body, "\n" unless $head_req;
        } elsif (length $body > $len) {
            $res->content(substr $body, 0, $len);
            return ($res, $raw_headers, substr $body, $len);
        }
    }
    return ($res, $raw_headers, undef);
}

# ---- response checks ----------------------------------------------------------------

sub get_indexed_value {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results should be arrays as well.");
    }
    return $value if ref $value ne 'ARRAY';
    bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.") if $req_idx != 0;
    return $value->[0];
}

sub check_error_code {
    my ($block, $res, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $val = get_indexed_value($name, scalar($block->error_code_like), $req_idx, $need_array);
        return Test::More::like($code, qr/$val/sm, "$name - status code ok");
    }
    my $expected = defined $block->error_code
        ? get_indexed_value($name, scalar($block->error_code), $req_idx, $need_array) : 200;
    Test::More::is($code, $expected, "$name - status code ok");
}

sub check_raw_response_headers {
    my ($block, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->raw_response_headers_like) {
        my $re = get_indexed_value($name, scalar($block->raw_response_headers_like), $req_idx, $need_array);
        Test::More::like($raw_headers, qr/$re/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $re = get_indexed_value($name, scalar($block->raw_response_headers_unlike), $req_idx, $need_array);
        Test::More::unlike($raw_headers, qr/$re/s, "$name - raw resp headers unlike");
    }
}

sub substitute_ports {
    my $text = shift;
    $text =~ s/\$ServerPort\b/$ServerPort/g;
    $text =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
    return $text;
}

sub check_response_headers {
    my ($block, $res, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->response_headers) {
        my $headers = parse_headers(get_indexed_value($name, scalar($block->response_headers),
                                                      $req_idx, $need_array));
        while (my ($key, $val) = each %$headers) {
            if (!defined $val) {
                Test::More::unlike($raw_headers // '', qr/^\s*\Q$key\E\s*:/ms,
                                   "$name - header $key not present in the raw headers");
                next;
            }
            my $actual = $res ? $res->header($key) : undef;
            Test::More::is($actual // '', substitute_ports($val), "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(get_indexed_value($name, scalar($block->response_headers_like),
                                                      $req_idx, $need_array));
        while (my ($key, $val) = each %$headers) {
            my $actual = $res ? $res->header($key) : undef;
            Test::More::like($actual // '', qr/^$val$/, "$name - header $key like ok");
        }
    }
}

my %BodyFilters = (
    md5_hex  => \&Digest::MD5::md5_hex,
    sha1_hex => \&Digest::SHA::sha1_hex,
    uc       => sub { uc $_[0] },
    lc       => sub { lc $_[0] },
    ucfirst  => sub { ucfirst $_[0] },
    lcfirst  => sub { lcfirst $_[0] },
    length   => sub { length $_[0] },
);

sub run_body_filter {
    my ($name, $filter, $content) = @_;
    return $filter->($content) if ref $filter eq 'CODE';
    bail_out("$name - the --- response_body_filters section only supports subroutine"
             . " reference values and string values") if ref $filter;
    my $code = $BodyFilters{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the"
                    . " --- response_body_filters section");
    return $code->($content);
}

sub transform_response_body {
    my ($block, $res, $req_idx) = @_;
    my $filters = $block->response_body_filters;
    return unless defined $filters && $res && defined $res->content;
    my $name = $block->name;
    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {
        $filters = $filters->[$req_idx];
        bail_out("$name - the ---response_body_filters two-dimensional array unmatch the"
                 . " specified request($req_idx)") unless defined $filters;
    }
    my $content = $res->content;
    $content = run_body_filter($name, $_, $content) for ref $filters eq 'ARRAY' ? @$filters : ($filters);
    $res->content($content);
}

sub body_content {
    my $res = shift;
    my $content = $res ? $res->content : undef;
    return undef unless defined $content;
    $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gm;
    $content =~ s/^Connection: TE, close\r\n//gm;
    return $content;
}

sub expected_body {
    my ($block, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $expected;
    if ($block->response_body_eval) {
        Test::More::diag("$name - response_body_eval is DEPRECATED. Use response_body eval instead.");
        $expected = eval get_indexed_value($name, scalar($block->response_body_eval), $req_idx, $need_array);
        warn $@ if $@;
    } else {
        $expected = get_indexed_value($name, scalar($block->response_body), $req_idx, $need_array);
    }
    Encode::from_to($expected, 'UTF-8', $block->charset) if $block->charset;
    $expected = substitute_ports($expected) if defined $expected && !ref $expected;
    return $expected;
}

sub check_response_body {
    my ($block, $res, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $which = "(repeated req $repeated_req_idx, req $req_idx)";
    if (defined $block->response_body || defined $block->response_body_eval) {
        my $content = body_content($res);
        my $expected = expected_body($block, $req_idx, $need_array);
        if (ref $expected) {
            Test::More::like($content, $expected, "$name - response_body - like $which");
        } else {
            str_is($content, $expected, "$name - response_body - response is expected $which");
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $method = "response_body_$type";
        my $pat = get_indexed_value($name, scalar($block->$method), $req_idx, $need_array);
        $pat = substitute_ports("$pat");
        my $content = body_content($res);
        my $summary = trim($content) // '';
        my $cmp = $type eq 'like' ? \&Test::More::like : \&Test::More::unlike;
        $cmp->($content, qr/$pat/s, "$name - response_body_$type - response is expected ($summary)");
    }
    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $req_idx, $repeated_req_idx, 0);
    }
}

sub check_response {
    my ($block, $res, $raw_headers, $req_idx, $repeated_req_idx, $need_array) = @_;
    check_error_code($block, $res, $req_idx, $need_array);
    check_raw_response_headers($block, $raw_headers, $req_idx, $need_array);
    check_response_headers($block, $res, $raw_headers, $req_idx, $need_array);
    transform_response_body($block, $res, $req_idx);
    check_response_body($block, $res, $req_idx, $repeated_req_idx, $need_array);
}

# ---- log checks ---------------------------------------------------------------------

sub pattern_list {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

sub value_contains {
    my ($val, $pat) = @_;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    return scalar grep { value_contains($_, $pat) } @$val if ref $val eq 'ARRAY';
    return undef;
}

sub report {
    my ($ok, $desc, $skip) = @_;
    return Test::More->builder->skip($skip) if defined $skip;
    return $ok ? Test::More::pass($desc) : Test::More::fail($desc);
}

# Every pattern must match some line.
sub expect_patterns {
    my ($name, $pats, $lines, $file, $suffix, $skip) = @_;
    $pats = pattern_list($pats);
    for my $line (@{ $lines || [] }) {
        for my $pat (@$pats) {
            next unless defined $pat && line_matches($line, $pat);
            report(1, "$name - pattern \"$pat\" matches a line in $file$suffix", $skip);
            undef $pat;
        }
    }
    for my $pat (grep { defined } @$pats) {
        report(0, "$name - pattern \"$pat\" should match a line in $file$suffix", $skip);
    }
}

# No pattern may match any line; each offending line is one failure.
sub reject_patterns {
    my ($name, $pats, $lines, $file, $suffix, $skip, $context) = @_;
    $pats = pattern_list($pats);
    $lines ||= [];
    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (grep { defined } @$pats) {
            next unless line_matches($line, $pat);
            no_ending() if $found{$pat}++;
            my $more = '';
            if ($context) {
                my $end = min($i + 10, $#$lines) - 1;
                $more = "\n" . join '', @$lines[$i + 1 .. $end];
            }
            report(0, "$name - pattern \"" . fmt_str($pat) . "\" should not match any line in"
                      . " $file but matches line \"" . fmt_str($line) . "\"$suffix$more", $skip);
        }
    }
    for my $pat (grep { defined && !$found{$_} } @$pats) {
        report(1, "$name - pattern \"" . fmt_str($pat) . "\" does not match a line in $file$suffix",
               $skip);
    }
}

sub check_grep_error_log {
    my ($block, $repeated_req_idx, $lines_ref) = @_;
    my $name = $block->name;
    my $grep_pats = $block->grep_error_log;
    if (!defined $grep_pats) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined")
            if defined $block->grep_error_log_out;
        return;
    }
    my $grep_pat = ref $grep_pats eq 'ARRAY' ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    return unless defined $grep_pat;
    my $expected = $block->grep_error_log_out;
    bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
        unless defined $expected;
    $expected = $expected->[$repeated_req_idx] if ref $expected eq 'ARRAY';
    $$lines_ref ||= error_log_data();
    my $matched = '';
    for my $line (@{ $$lines_ref || [] }) {
        next unless (ref $grep_pat && $line =~ /$grep_pat/) || $line =~ /\Q$grep_pat\E/;
        my $m = $&;
        $matched .= "$m\n" if $m !~ /\n/;
    }
    my $desc = "$name - grep_error_log_out (req $repeated_req_idx)";
    return Test::More::like($matched, $expected, $desc) if ref $expected eq 'Regexp';
    str_is($matched, $expected, $desc);
}

sub warn_serious_lines {
    my ($name, $lines, $levels) = @_;
    for my $level (@$levels) {
        for my $line (@{ $lines || [] }) {
            warn "WARNING: $name - " . fmt_str($line) . "\n" if $line =~ /\[\Q$level\E\]/;
        }
    }
}

sub fail_on_assertions {
    my ($name, $lines, $re) = @_;
    for my $line (@{ $lines || [] }) {
        next unless $line =~ $re;
        no_ending();
        chomp(my $copy = $line);
        Test::More::fail("$name - $copy\n");
    }
}

sub check_error_log {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $suffix = " (req $repeated_req_idx)";
    my @levels = qw(alert crit emerg);
    my $lines;
    check_grep_error_log($block, $repeated_req_idx, \$lines);
    for my $section (qw(error_log no_error_log)) {
        my $pats = $block->$section;
        next unless defined $pats;
        @levels = grep { !value_contains($pats, "[$_") } @levels;
        $lines ||= error_log_data();
        if ($section eq 'error_log') {
            expect_patterns($name, $pats, $lines, 'error.log', $suffix);
        } else {
            reject_patterns($name, $pats, $lines, 'error.log', $suffix, undef, 1);
        }
    }
    $lines ||= error_log_data() if @levels;
    warn_serious_lines($name, $lines, \@levels);
    fail_on_assertions($name, $lines, qr/\bAssertion .*?failed\b/);
}

sub check_access_log {
    my ($block, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $suffix = " (req $repeated_req_idx)";
    my $lines;
    if (defined(my $pats = $block->access_log)) {
        $lines ||= access_log_data();
        expect_patterns($name, $pats, $lines, 'access.log', $suffix);
    }
    if (defined(my $pats = $block->no_access_log)) {
        $lines ||= access_log_data();
        reject_patterns($name, $pats, $lines, 'access.log', $suffix, undef, 1);
    }
}

sub check_shutdown_error_log {
    my ($block, $dry_run) = @_;
    my $name = $block->name;
    my $lines;
    if (defined(my $pats = $block->no_shutdown_error_log)) {
        $lines ||= error_log_data();
        my $skip = $dry_run ? "$name - no_shutdown_error_log - tests skipped due to $dry_run" : undef;
        reject_patterns($name, $pats, $lines, 'error.log', '', $skip, 0);
    }
    $lines ||= error_log_data();
    my $skip = $dry_run ? "$name - shutdown_error_log - tests skipped due to dry_run" : undef;
    expect_patterns($name, scalar($block->shutdown_error_log), $lines, 'error.log', '', $skip);
    fail_on_assertions($name, $lines, qr/\bAssertion .*? failed\.$/);
}

# ---- one repetition of a block ------------------------------------------------------

sub wait_and_check_logs {
    my ($block, $res, $repeated_req_idx, $need_array) = @_;
    sleep $block->wait if $block->wait;
    check_error_log($block, $res, 0, $repeated_req_idx, $need_array);
    check_access_log($block, $repeated_req_idx) unless defined $block->ignore_response;
}

sub parse_one {
    my ($block, $raw, $head_req) = @_;
    return () if defined $block->ignore_response;
    return (HTTP::Response->new(200, 'OK', [], $raw), '') if defined $block->http09;
    return parse_response($block->name, $raw, $head_req);
}

sub warn_extra_bytes {
    my ($name, $left) = @_;
    $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
    warn "WARNING: $name - unexpected extra bytes after last chunk in response: \"$left\"\n";
}

sub run_test_helper {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;
    my $timeout = parse_time($block->timeout) // timeout();
    my ($res, $need_array);
    my $req_idx = 0;
    for my $one_req (@$reqs) {
        my ($raw, $head_req) = send_request($one_req, scalar($block->raw_request_middle_delay),
                                            $timeout, $block);
        my $n = 0;
        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }
        while (1) {
            my ($raw_headers, $left);
            ($res, $raw_headers, $left) = parse_one($block, $raw // '', $head_req);
            if ($n) {
                $raw = $left;
                $n--;
            } elsif ($left) {
                warn_extra_bytes($name, $left);
            }
            check_response($block, $res, $raw_headers, $req_idx, $repeated_req_idx, $need_array)
                unless defined $block->ignore_response;
            wait_and_check_logs($block, $res, $repeated_req_idx, $need_array)
                if $n || $req_idx < @$reqs - 1;
            $req_idx++;
            last unless $n;
        }
    }
    wait_and_check_logs($block, $res, $repeated_req_idx, $need_array);
}

1;
