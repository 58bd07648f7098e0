package SSLCodesTest;
# Helpers for the mod_sslcodes suite: raw sockets, curl, and the logs.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);
use POSIX ();
use Apache::Test ();

our @EXPORT = qw(port t_dir raw_request parse_response parse_responses
                 curl curl_start curl_finish log_mark log_since wait_log
                 bad_log_lines access_mark access_since slow_mark
                 free_ports children procs_where tls_until_close
                 read_until_close foreground_httpd
                 wait_slow_started wait_for GUARD);

# How long any wait for an event gives up after.  Only a guard against a
# hang: a wait ends as soon as its event happens, so a passing run never
# waits this long, while a slow machine (an ASan or valgrind build, both
# cores busy with something else) still gets there.  Product timeouts
# that a test measures are far shorter, or the test says why not.
use constant GUARD => 60;

# Call COND every 50 ms until it returns true or TIMEOUT (GUARD) seconds
# pass; returns COND's last value.
sub wait_for {
    my ($cond, $timeout) = @_;
    my $end = time + ($timeout // GUARD);
    while (1) {
        my $v = $cond->();
        return $v if $v || time > $end;
        sleep 0.05;
    }
}

sub t_dir { Apache::Test::vars('t_dir') }

sub port {
    my $name = shift;
    my $p = Apache::Test::vars("${name}_port")
        or die "no port for vhost $name";
    return $p;
}

# Send DATA (a string, or a list of [bytes, delay-before] pieces) to PORT
# on 127.0.0.1 and read until the server closes, or until what was read
# satisfies UNTIL (a code ref given the bytes so far), or TIMEOUT passes.
# Returns (bytes read, 1 if the server closed the connection).  The
# default TIMEOUT is only a guard: the server closes the connection after
# each answer the tests ask for, or after the vhost's KeepAliveTimeout (5
# s; 30 s on codes_plain, codes_off and codes_corelocal).
sub raw_request {
    my ($port, $data, %opt) = @_;
    my $timeout = $opt{timeout} // GUARD;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Proto => 'tcp')
        or die "connect $port: $!";
    $sock->autoflush(1);
    $sock->setsockopt(Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);
    my @pieces = ref $data ? @$data : ([$data, 0]);
    for my $p (@pieces) {
        sleep $p->[1] if $p->[1];
        syswrite $sock, $p->[0] if length $p->[0];
    }
    shutdown($sock, 1) if $opt{half_close};
    my ($out, $closed) = ('', 0);
    my $sel = IO::Select->new($sock);
    my $end = time + $timeout;
    while ((my $left = $end - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread $sock, my $buf, 65536;
        if (!$n) { $closed = 1; last }
        $out .= $buf;
        last if $opt{until} && $opt{until}->($out);
    }
    close $sock;
    return wantarray ? ($out, $closed) : $out;
}

# Send DATA over TLS to PORT on 127.0.0.1, with SNI name SNI (none when
# undef), and read until the server closes, after its answer (GUARD only
# bounds it).  The certificate is not checked.  Returns the bytes read.
sub tls_until_close {
    my ($port, $sni, $data) = @_;
    require IO::Socket::SSL;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        SSL_hostname => $sni // '')
        or die "TLS to $port: $IO::Socket::SSL::SSL_ERROR";
    print $s $data;
    return read_until_close($s);
}

# What SOCK gives until the server closes it (GUARD only bounds it).
sub read_until_close {
    my $sock = shift;
    my $out = '';
    my $end = time + GUARD;
    while (time < $end) {
        my $n = sysread $sock, my $buf, 65536;
        last unless $n;
        $out .= $buf;
    }
    return $out;
}

# Run httpd (the suite's binary) with DIR/httpd.conf in the foreground, in
# a process group of its own (prefork's parent signals its whole group when
# it stops, which would include the test).  Up once the MPM runs (it
# writes the pid file after post_config, where startup can still fail) and
# PORT on 127.0.0.1 accepts; failed when it exits.  Both are events; GUARD
# only bounds a server that does neither.  Returns { ok, pid, dir,
# log => sub (the error log and stdout), stop => sub (by its pid) }.
sub foreground_httpd {
    my ($dir, $port) = @_;
    my $httpd = Apache::Test::vars('httpd');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDOUT, '>', "$dir/stdout";
        open STDERR, '>&', \*STDOUT;
        { exec $httpd, '-f', "$dir/httpd.conf", '-DFOREGROUND' };
        POSIX::_exit(127);
    }
    my ($ok, $end) = (0, time + GUARD);
    while (time < $end) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            $pid = 0;
            last;
        }
        if (-s "$dir/httpd.pid"
            && IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Proto => 'tcp')) {
            $ok = 1;
            last;
        }
        sleep 0.1;
    }
    my $h = { ok => $ok, pid => $pid, dir => $dir };
    $h->{log} = sub {
        my $text = '';
        for my $f ("$dir/error_log", "$dir/stdout") {
            open my $in, '<', $f or next;
            local $/;
            $text .= <$in> // '';
        }
        return $text;
    };
    $h->{stop} = sub {
        return unless $h->{pid};
        kill 'TERM', $h->{pid};
        waitpid $h->{pid}, 0;
        $h->{pid} = 0;
    };
    return $h;
}

# One HTTP/1.x response: { status_line, status, headers => {lc name =>
# value}, raw_headers, body }.  The body is what follows the header block.
sub parse_response {
    my $raw = shift;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $body //= '';
    my ($status_line, @lines) = split /\r\n/, $head // '';
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    my ($status) = ($status_line // '') =~ m{^HTTP/\d\.\d (\d{3})};
    return { status_line => $status_line // '', status => $status // 0,
             headers => \%h, raw_headers => $head // '', body => $body };
}

# How many responses RAW holds (status lines at the start of a line).
sub parse_responses {
    my $raw = shift;
    my @n = $raw =~ m{(?:^|\r\n)HTTP/1\.[01] \d{3} }g;
    return scalar @n;
}

# Run curl against 127.0.0.1 with the test CA; names resolve to loopback.
# Returns the parsed final response plus {exit}, {stderr}.  --max-time is
# a guard (GUARD); a test may pass a --max-time of its own after it.
sub curl { curl_finish(curl_start(@_)) }

# curl as curl() runs it, in the background: a handle for curl_finish(),
# whose {pid} a test may kill to have the client leave.
sub curl_start {
    my (@args) = @_;
    my $t = t_dir();
    my @cmd = ('curl', '-sS', '-i', '--max-time', GUARD,
               '--cacert', "$t/pki/ca.crt");
    for my $name (qw(localhost a.test b.test)) {
        for my $p (grep { /^https?:\/\/\Q$name\E:(\d+)/ } @args) {
            my ($port) = $p =~ /:(\d+)/;
            push @cmd, '--resolve', "$name:$port:127.0.0.1";
        }
    }
    push @cmd, @args;
    # curl's complaints go to a file, not into the TAP stream.
    open my $olderr, '>&', \*STDERR or die "dup: $!";
    open STDERR, '>', "$t/logs/curl.err" or die "curl.err: $!";
    my $pid = open my $fh, '-|', @cmd or die "curl: $!";
    open STDERR, '>&', $olderr or die "restore: $!";
    return { pid => $pid, fh => $fh };
}

# Wait for a curl_start()ed curl to end; returns what curl() returns.
sub curl_finish {
    my $h = shift;
    my $fh = $h->{fh};
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $exit = $? >> 8;
    # Skip interim and proxy responses: keep the last header block.
    my @parts = split /(?=^HTTP\/[\d.]+ \d{3})/m, $out;
    my $last = pop(@parts) // '';
    my $r = parse_curl($last);
    $r->{exit} = $exit;
    $r->{all} = $out;
    return $r;
}

sub parse_curl {
    my $raw = shift;
    $raw =~ s/\r\n/\n/g unless $raw =~ /^HTTP\/1/;
    my ($head, $body) = split /\r?\n\r?\n/, $raw, 2;
    my ($status_line, @lines) = split /\r?\n/, $head // '';
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $h{lc $k} = $v;
    }
    my ($status) = ($status_line // '') =~ m{^HTTP/[\d.]+ (\d{3})};
    return { status_line => $status_line // '', status => $status // 0,
             headers => \%h, body => $body // '' };
}

sub _file { t_dir() . '/logs/' . shift }

sub _size { my $f = shift; -e $f ? -s $f : 0 }

sub _read_from {
    my ($f, $off) = @_;
    open my $fh, '<', $f or return '';
    seek $fh, $off, 0;
    local $/;
    return <$fh> // '';
}

# Error log: remember where it ends now, read what came after.
sub log_mark   { _size(_file('error_log')) }
sub log_since  { _read_from(_file('error_log'), shift) }
sub access_mark  { _size(_file('sslcodes_log')) }
sub access_since { _read_from(_file('sslcodes_log'), shift) }

# Wait until the text after MARK in LOG matches RE, and return the text.
# Every caller waits for a line that the request it made writes (the
# access log's line comes after the answer, so it may lag behind it); the
# guard (GUARD) is only reached when that line never comes.
sub wait_log {
    my ($mark, $re, $which) = @_;
    my $read = ($which // 'error') eq 'access' ? \&access_since : \&log_since;
    my $text = '';
    wait_for(sub { ($text = $read->($mark)) =~ $re });
    return $text;
}

# t/htdocs/cgi/slow.cgi writes a line to t/logs/slow_started as it starts,
# two seconds before it answers.  slow_mark() is where that file ends now;
# wait_slow_started(MARK) returns once a slow.cgi has started after MARK
# (1), or 0 after the guard (GUARD).  A client that leaves then leaves
# while the handler runs: its request has been read, and the answer is
# still two seconds away.
sub slow_mark { _size(_file('slow_started')) }

sub wait_slow_started {
    my $mark = shift;
    return wait_for(sub { _size(_file('slow_started')) > $mark }) ? 1 : 0;
}

# The [error] and [warn] lines in TEXT not matched by any of ALLOWED.
# A test that opens more connections at once than its server has workers
# (Apache::Test's 3 children under prefork; a throwaway server's few
# threads) makes the MPM say that all are busy (prefork's AH00161, event's
# AH00484) whenever they are slow to answer, as under ASan or valgrind.
# That is the test server's size, never the module's doing.
sub bad_log_lines {
    my ($text, @allowed) = @_;
    my @bad;
    LINE: for my $line (split /\n/, $text) {
        next unless $line =~ /\[(?:[\w.]+:)?(?:error|warn|crit|alert|emerg)\]/;
        next if $line =~ /AH00161: server reached MaxRequestWorkers|AH00484: server reached MaxRequestWorkers/;
        for my $re (@allowed) { next LINE if $line =~ $re }
        push @bad, $line;
    }
    return @bad;
}

# N ports on 127.0.0.1 that nothing listens on, between the test
# server's port + FROM and + TO: for a test's own throwaway servers.
sub free_ports {
    my ($n, $from, $to) = @_;
    my $base = Apache::Test::vars('port');
    my @got;
    for my $p ($base + $from .. $base + $to) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                      Listen => 1, ReuseAddr => 1) or next;
        close $s;
        push @got, $p;
        return @got if @got == $n;
    }
    die "no $n free ports in " . ($base + $from) . '..' . ($base + $to);
}

# The pids of the processes for which WANT(STATE, PPID, PGRP) is true,
# from /proc.
sub procs_where {
    my $want = shift;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($state, $ppid, $pgrp) = $line =~ /\) (\S) (\d+) (\d+)/ or next;
        push @pids, $stat =~ m{/proc/(\d+)/} if $want->($state, $ppid, $pgrp);
    }
    return @pids;
}

# The child processes of PID.
sub children {
    my $pid = shift;
    return procs_where(sub { $_[1] == $pid });
}

1;
