# 499 as nginx means it (SSLCodesClientClosed on): while a request waits on
# a backend, a client that leaves frees the backend and the worker at once.
# Real backends, each started and stopped here by its own pid: a slow HTTP
# backend behind mod_proxy_http (t/bin/slow-backend), PHP-FPM behind
# mod_proxy_fcgi, and a stalling CGI under mod_cgid.  An httpd of its own
# with 4 workers, a plain port (the directive on for the whole vhost) and a
# TLS port with HTTP/2 (per location: /api/ on, /reports/ log, the rest
# untouched).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use IO::Socket::SSL;
use IO::Select;
use POSIX ();
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);
use SSLCodesTest;
use SSLCodesH2;
use SSLCodesOCSP qw(throwaway_httpd);

my ($fpm) = glob '/usr/sbin/php-fpm*';
plan tests => 45, need { 'php-fpm (Debian package php-fpm)' => defined $fpm };

my $t = t_dir();
my $mpm = $ENV{SSLCODES_MPM} || 'event';
# The issue's bound: 499 and the backend's close within 1 s of the client
# leaving.  Under valgrind every step of the worker's error path is some
# twenty times slower; the bound widens there, and only there.
my $bound = $ENV{SSLCODES_VALGRIND} ? 5 : 1;
# mod_http2 does not run under prefork: curl falls back to HTTP/1.1 there,
# and the stream reset is not tried.
my $h2 = $mpm ne 'prefork';
my ($tls, $plain, $bp, $fp) = free_ports(4, 230, 260);
my $dir = "$t/logs/backend_abort";
mkdir $dir;
my $events = "$dir/backend_events";
unlink $events, "$t/logs/php_started", "$t/logs/stall_started";

# --- The backends ---------------------------------------------------------

sub spawn {
    my (@cmd) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', "$dir/backends.out";
        open STDERR, '>&', \*STDOUT;
        { exec @cmd };
        POSIX::_exit(127);
    }
    return $pid;
}

sub listening {
    my $port = shift;
    return wait_for(sub {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
    });
}

my $backend = spawn("$t/bin/slow-backend", $bp, $events);
open my $fc, '>', "$dir/fpm.conf" or die "fpm.conf: $!";
print $fc <<"FPM";
[global]
pid = $dir/fpm.pid
error_log = $dir/fpm.log
daemonize = no
[tests]
listen = 127.0.0.1:$fp
pm = static
pm.max_children = 4
FPM
close $fc;
my $php = spawn($fpm, '-F', '-n', '-y', "$dir/fpm.conf");
listening($bp) or die "slow-backend did not start";
listening($fp) or die "php-fpm did not start";

# --- The server -------------------------------------------------------------

my $workers = $mpm eq 'prefork'
    ? "StartServers 4\nMinSpareServers 4\nMaxSpareServers 4\nMaxRequestWorkers 4"
    : "ServerLimit 2\nThreadsPerChild 4\nMaxRequestWorkers 4\nMinSpareThreads 1\nMaxSpareThreads 4";
my $routes = <<"ROUTES";
    ProxyPass /api/ http://127.0.0.1:$bp/api/
    ProxyPass /reports/ http://127.0.0.1:$bp/reports/
    ProxyPass /plain/ http://127.0.0.1:$bp/plain/
    ProxyPass /php/ fcgi://127.0.0.1:$fp$t/htdocs/php/
    ScriptAlias /cgi/ $t/htdocs/cgi/
ROUTES
my $h = throwaway_httpd('backend_abort', $tls, <<"VHOST",
    Protocols h2 http/1.1
$routes
    <Location /api/>
        SSLCodesClientClosed on
    </Location>
    <Location /reports/>
        SSLCodesClientClosed log
    </Location>
VHOST
    mpm => $mpm,
    modules => [qw(proxy proxy_http proxy_fcgi cgid http2 alias)],
    global => <<"GLOBAL");
$workers
ScriptSock $dir/cgisock
Timeout 60
GracefulShutdownTimeout 10
LogFormat "%h \\"%r\\" %>s %{SSLCODES_STATUS}e %b" t
CustomLog $dir/access_log t
Listen 127.0.0.1:$plain http
<VirtualHost 127.0.0.1:$plain>
    ServerName localhost
    SSLCodesClientClosed on
$routes
    <Location /plain/>
        SSLCodesClientClosed off
    </Location>
</VirtualHost>
GLOBAL
END {
    # A graceful stop: prefork's children, stopped with TERM, can be cut
    # short in a TLS shutdown that is no part of these tests.
    if ($h && $h->{pid}) {
        kill 'WINCH', $h->{pid};
        waitpid $h->{pid}, 0;
    }
    for my $pid (grep { $_ } $backend, $php) {
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }
}
ok t_cmp($h->{ok}, 1, "httpd ($mpm, 4 workers) started") or print $h->{log}->();

# --- Helpers ----------------------------------------------------------------

sub slurp {
    my $f = shift;
    open my $fh, '<', $f or return '';
    local $/;
    return <$fh> // '';
}

# The time of the backend's event WHAT for PATH, once it is there.
sub backend_event {
    my ($what, $path, $timeout) = @_;
    my $when;
    wait_for(sub {
        ($when) = slurp($events) =~ /^\Q$what\E (\S+) \Q$path\E$/m;
    }, $timeout);
    return $when;
}

# The access log line for PATH, and the time it was first seen.
sub access_line {
    my ($path, $timeout) = @_;
    my $line;
    wait_for(sub { ($line) = slurp("$dir/access_log") =~ /^(.*"GET \Q$path\E .*)$/m },
             $timeout);
    return ($line // '', time);
}

sub within {
    my ($from, $to) = @_;
    return defined $to && $to - $from <= $bound ? 'yes' : sprintf('no (%s s)',
        defined $to ? sprintf('%.2f', $to - $from) : 'never');
}

# A plain HTTP/1.1 client asks for PATH, waits until the backend has it,
# and leaves as HOW says: fin, rst or half.  Returns the time it left.
sub leave_plain {
    my ($path, $how, $started) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $plain)
        or die "connect: $!";
    syswrite $s, "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
    $started->();
    my $left = time;
    if ($how eq 'rst') {
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
    }
    elsif ($how eq 'fin') {
        close $s;
    }
    else {
        shutdown($s, 1);
        my $out = '';
        my $sel = IO::Select->new($s);
        while ($sel->can_read(GUARD)) {
            last unless sysread $s, my $buf, 4096;
            $out .= $buf;
        }
        ok t_cmp(length $out, 0, "half-closed: nothing written ($path)");
    }
    return $left;
}

sub started_backend { my $p = shift; sub { backend_event('start', $p) } }

# The backend's connection closes, and 499 is logged, within the bound.
sub check_abort {
    my ($name, $path, $left, $proto) = @_;
    my $closed = backend_event('closed', $path);
    ok t_cmp(within($left, $closed), 'yes',
             "$name: the backend's connection closed within $bound s");
    my ($line, $seen) = access_line($path);
    ok t_cmp($line, qr/ \Q$proto\E" 499 499 -$/, "$name: access log 499");
    ok t_cmp(within($left, $seen), 'yes', "$name: logged within $bound s");
}

# --- HTTP/1.1, plain: FIN, RST, half-close ----------------------------------

for my $how (qw(fin rst half)) {
    my $path = "/api/$how";
    my $left = leave_plain($path, $how, started_backend($path));
    check_abort("plain $how", $path, $left, 'HTTP/1.1');
}
my $elog = $h->{log}->();
# mod_proxy_http hands its backend connection over: that is what is shut.
my @held = $elog =~ /SSLCODES0204: client 127\.0\.0\.1 left: shut down its request's mod_proxy backend connection/g;
ok t_cmp(scalar @held, 3, "mod_proxy_http: its own backend connection is shut");
my @info = $elog =~ /\[sslcodes:info\].*SSLCODES0203: client prematurely closed connection \(vhost [^)]*, request "GET \/api\/\w+ HTTP\/1\.1"\): 499/g;
ok t_cmp(scalar @info, 3, 'one info line each, in nginx words');

# A half-closed client still gets a static file, where the directive is on.
my ($raw) = raw_request($plain, "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n"
                        . "Connection: close\r\n\r\n", half_close => 1);
ok t_cmp(parse_response($raw)->{status}, 200, 'half-closed: a static file is served');

# --- TLS, HTTP/1.1 and HTTP/2: the client is killed -------------------------

for my $v (['--http1.1', 'HTTP/1.1', 'h1'],
           ['--http2', $h2 ? 'HTTP/2.0' : 'HTTP/1.1', 'h2']) {
    my $path = "/api/tls-$v->[2]";
    my $c = curl_start($v->[0], "https://localhost:$tls$path");
    backend_event('start', $path);
    kill 'KILL', $c->{pid};
    my $left = time;
    curl_finish($c);
    check_abort("TLS $v->[1]", $path, $left, $v->[1]);
}

# --- HTTP/2: one stream reset, the other served -----------------------------

if (!$h2) {
    skip('mod_http2 does not run under prefork', 0) for 1 .. 5;
}
else {
    my $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $tls,
        SSL_hostname => 'localhost', SSL_verify_mode => SSL_VERIFY_NONE,
        SSL_alpn_protocols => ['h2']) or die "TLS: $SSL_ERROR";
    syswrite $sock, h2_preface() . h2_get(1, '/api/reset');
    backend_event('start', '/api/reset');
    syswrite $sock, h2_frame(3, 0, 1, pack('N', 8));       # RST_STREAM CANCEL
    my $left = time;
    syswrite $sock, h2_get(3, '/api/other?s=0.5');
    my $buf = '';
    my $f = h2_wait_frame($sock, \$buf, 1, 3, GUARD);
    ok t_cmp(defined $f ? 'answered' : 'none', 'answered',
             'h2 reset: the other stream is answered');
    check_abort('h2 reset', '/api/reset', $left, 'HTTP/2.0');
    ok t_cmp(backend_event('answered', '/api/other?s=0.5') ? 1 : 0, 1,
             "h2 reset: the other stream's backend finished");
    close $sock;
}

# --- Per location: log lets the backend finish; elsewhere untouched ---------

for my $case (['/reports/r1?s=1.5', qr/ HTTP\/1\.1" 499 499 -$/, 'log: 499'],
              ['/plain/p1?s=1.5', qr/ HTTP\/1\.1" 200 - \d+$/, 'untouched: the stock 200']) {
    my ($path, $re, $name) = @$case;
    my $c = curl_start('--http1.1', "https://localhost:$tls$path");
    backend_event('start', $path);
    kill 'KILL', $c->{pid};
    curl_finish($c);
    ok t_cmp(backend_event('answered', $path) ? 'answered' : 'closed', 'answered',
             "$name: the backend finished");
    my ($line) = access_line($path);
    ok t_cmp($line, $re, "$name: access log");
}

# --- PHP-FPM behind mod_proxy_fcgi ------------------------------------------

# The FastCGI connection in CLOSE_WAIT on PHP-FPM's side: Apache closed it.
sub fpm_close_wait {
    my $hex = sprintf ':%04X ', $fp;
    return scalar grep { /^\s*\d+: [0-9A-F]+\Q$hex\E[0-9A-F:]+ 08 / }
        split /\n/, slurp('/proc/net/tcp');
}

{
    my $path = '/php/sleep.php?fpm';
    my $mark = -s "$t/logs/php_started" // 0;
    my $left = leave_plain($path, 'fin', sub {
        wait_for(sub { (-s "$t/logs/php_started" // 0) > $mark });
    });
    my $closed = wait_for(sub { fpm_close_wait() ? time : 0 });
    ok t_cmp(within($left, $closed), 'yes',
             "php-fpm: its connection closed within $bound s");
    my ($line, $seen) = access_line($path);
    ok t_cmp($line, qr/ HTTP\/1\.1" 499 499 -$/, 'php-fpm: access log 499');
    ok t_cmp(within($left, $seen), 'yes', "php-fpm: logged within $bound s");
}

# --- A stalling CGI under mod_cgid ------------------------------------------

{
    my $path = '/cgi/stall.cgi?cgid';
    my $pid;
    my $left = leave_plain($path, 'fin', sub {
        wait_for(sub { ($pid) = slurp("$t/logs/stall_started") =~ /^(\d+) cgid$/m });
    });
    my ($line, $seen) = access_line($path);
    ok t_cmp($line, qr/ HTTP\/1\.1" 499 499 -$/, 'cgid: access log 499');
    ok t_cmp(within($left, $seen), 'yes', "cgid: logged within $bound s");
    my $ended = wait_for(sub { kill(0, $pid) ? 0 : time });
    ok t_cmp(within($left, $ended), 'yes', "cgid: the script ended within $bound s");
    # mod_proxy_fcgi and mod_cgid hand nothing over: the socket their
    # worker waits on is found (this server did not change user).
    my @found = $h->{log}->() =~ /SSLCODES0204: client 127\.0\.0\.1 left: shut down the socket its worker waited on \(descriptor \d+\)/g;
    ok t_cmp(scalar @found, 2, 'php-fpm and cgid: the socket their worker waits on is shut');
}

# --- 4 workers, 8 abandoned requests to a stalled backend -------------------

{
    my @socks;
    for my $i (1 .. 8) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $plain)
            or die "connect: $!";
        syswrite $s, "GET /api/stalled$i HTTP/1.1\r\nHost: localhost\r\n\r\n";
        push @socks, $s;
    }
    # Every worker waits on the backend.
    wait_for(sub { (() = slurp($events) =~ /^start \S+ \/api\/stalled\d$/mg) >= 4 });
    close $_ for @socks;
    my $left = time;
    my $c = curl('--http1.1', "https://localhost:$tls/ok.html");
    my $took = time - $left;
    ok t_cmp($c->{status}, 200, '8 abandoned: a normal request is answered');
    ok t_cmp($took <= $bound ? 'yes' : sprintf('no (%.2f s)', $took), 'yes',
             "8 abandoned: ... within $bound s");
    my $all = wait_for(sub {
        (() = slurp("$dir/access_log") =~ /"GET \/api\/stalled\d HTTP\/1\.1" 499 /g) == 8
    });
    ok t_cmp($all ? 8 : 0, 8, '8 abandoned: each logged 499');
}

# --- A graceful restart with abandoned requests in flight --------------------

{
    my $keep = curl_start('--http1.1', "https://localhost:$tls/api/kept?s=2");
    my @gone = map {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $plain)
            or die "connect: $!";
        syswrite $s, "GET /api/restart$_ HTTP/1.1\r\nHost: localhost\r\n\r\n";
        $s
    } 1 .. 2;
    backend_event('start', "/api/restart$_") for 1 .. 2;
    backend_event('start', '/api/kept?s=2');
    my $ppid = slurp("$dir/httpd.pid") =~ /(\d+)/ ? $1 : 0;
    kill 'USR1', $ppid;
    close $_ for @gone;
    my $r = curl_finish($keep);
    ok t_cmp($r->{status}, 200, 'graceful: the request that waited is answered');
    ok t_cmp($r->{body}, "backend answer\n", 'graceful: ... with its body');
    for my $i (1 .. 2) {
        my ($line) = access_line("/api/restart$i");
        ok t_cmp($line, qr/ 499 499 -$/, "graceful: abandoned request $i logged 499");
    }
    my $after = curl('--http1.1', "https://localhost:$tls/ok.html");
    ok t_cmp($after->{status}, 200, 'graceful: the restarted server answers');
}

# Counted, and nothing else went wrong.
# mod_proxy_http, mod_proxy_fcgi and mod_cgid log an error of their own
# for the backend exchange that was cut (the README lists them).
my @bad = bad_log_lines($h->{log}->(),
    qr/AH01102|AH00898|AH01067|AH01075|End of script output before headers/,
    # The build's OpenSSL note, and mod_http2's under prefork.
    qr/AH01882|AH10034/,
    # The 8 abandoned requests fill the 4 workers on purpose.
    qr/AH00161/);
ok t_cmp(scalar @bad, 0, 'no other error or warn lines') or print "# @bad\n";
