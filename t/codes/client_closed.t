# 499 (SSLCodesClientClosed): a client that left before the first byte of
# the answer gets nothing written, and the access log says 499.  FIN, RST
# and a half-close; a slow CGI and a slow proxied backend; a control
# client that waits; the switch off; HTTP/2.  Each client leaves once
# slow.cgi has started, two seconds before its answer.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);
use SSLCodesTest;

plan tests => 19;

# Send a request for PATH, wait until slow.cgi runs for it, then leave as
# HOW says.  Returns what the server wrote (only a half-closed client can
# still read it).  Leaving waits for the handler to start, not for a fixed
# time: so the request has been read, and the answer is still the CGI's
# two seconds away (a client that polls every 50 ms is never that late).
sub leave {
    my ($port, $path, $how) = @_;
    my $started = slow_mark();
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    syswrite $s, "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
    wait_slow_started($started);
    if ($how eq 'rst') {
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
        return '';
    }
    if ($how eq 'fin') {
        close $s;
        return '';
    }
    shutdown($s, 1);                      # half-close: keep reading
    # Until the server closes (after the CGI's answer, two seconds on), so
    # that all it wrote is seen; GUARD only bounds a server that never does.
    my $out = '';
    my $sel = IO::Select->new($s);
    my $end = time + GUARD;
    while ($sel->can_read($end - time)) {
        my $n = sysread $s, my $buf, 4096;
        last unless $n;
        $out .= $buf;
    }
    close $s;
    return $out;
}

my $mark = log_mark();
my $amark = access_mark();
my $plain = port('codes_plain');

for my $how (qw(fin rst half)) {
    my $m = access_mark();
    my $out = leave($plain, "/cgi/slow.cgi?$how", $how);
    ok t_cmp(length $out, 0, "$how: nothing written") if $how eq 'half';
    my $alog = wait_log($m, qr/slow\.cgi\?$how/, 'access');
    ok t_cmp($alog, qr/"GET \/cgi\/slow\.cgi\?$how HTTP\/1\.1" 499 499 -/,
             "$how: access log 499, SSLCODES_STATUS 499, no bytes");
}
my $log = wait_log($mark, qr/(?:SSLCODES0203[^\n]*\n[\s\S]*?){3}/);
my @n = $log =~ /\[sslcodes:info\].*SSLCODES0203: client prematurely closed connection \(vhost [^)]*, request "GET \/cgi\/slow\.cgi\?\w+ HTTP\/1\.1"\): 499/g;
ok t_cmp(scalar @n, 3, 'one info line each');

# A slow proxied backend.
my $m = access_mark();
leave($plain, '/slowproxy', 'fin');
my $alog = wait_log($m, qr/slowproxy/, 'access');
ok t_cmp($alog, qr/"GET \/slowproxy HTTP\/1\.1" 499 499 /,
         'proxied: access log 499');

# A control client that waits gets its answer.
my ($raw) = raw_request($plain,
    "GET /cgi/slow.cgi HTTP/1.0\r\nHost: localhost\r\n\r\n");
my $r = parse_response($raw);
ok t_cmp($r->{status}, 200, 'control: 200');
ok t_cmp($r->{body}, "slow answer\n", 'control: the body');
($raw) = raw_request($plain,
    "GET /slowproxy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
ok t_cmp(parse_response($raw)->{status}, 200, 'control, proxied: 200');
# Keep-alive: the check runs per request.
($raw) = raw_request($plain,
    "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
    . "GET /ok.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
my @ok = $raw =~ m{HTTP/1\.1 200 OK}g;
ok t_cmp(scalar @ok, 2, 'keep-alive: both answered');

# Off: the stock status.
$m = access_mark();
leave(port('codes_off'), '/cgi/slow.cgi?off', 'fin');
$alog = wait_log($m, qr/slow\.cgi\?off/, 'access');
ok t_cmp($alog, qr/"GET \/cgi\/slow\.cgi\?off HTTP\/1\.1" 200 - /,
         'off: the stock 200');

# TLS, HTTP/1.1 and HTTP/2: the client gives up while the CGI runs (curl
# is ended once slow.cgi has started, as leave() does, rather than after a
# fixed --max-time that a slow handshake could outlast).
my $tls = port('codes_tls_close');
for my $v (['--http1.1', 'HTTP/1.1'], ['--http2', 'HTTP/2.0']) {
    $m = access_mark();
    my $started = slow_mark();
    my $h = curl_start($v->[0], "https://localhost:$tls/cgi/slow.cgi?tls");
    wait_slow_started($started);
    kill 'KILL', $h->{pid};
    my $c = curl_finish($h);
    ok t_cmp($c->{status}, 0, "TLS $v->[1]: curl gave up");
    $alog = wait_log($m, qr/slow\.cgi\?tls/, 'access');
    ok t_cmp($alog, qr/"GET \/cgi\/slow\.cgi\?tls \Q$v->[1]\E" 499 499 /,
             "TLS $v->[1]: access log 499");
}
# ... and a client that waits.
my $c = curl('--http2', "https://localhost:$tls/cgi/slow.cgi");
ok t_cmp($c->{status}, 200, 'TLS HTTP/2, control: 200');
ok t_cmp($c->{body}, "slow answer\n", 'TLS HTTP/2, control: body');

# Counted.
($raw) = raw_request(port('status'), "GET /server-status?auto HTTP/1.0\r\n\r\n");
my ($n499) = $raw =~ /^SSLCodes499: (\d+)/m;
ok t_cmp($n499 >= 6 ? 1 : 0, 1, "counted in server-status ($n499)");

# The backend exchanges cut when each client left: mod_cgid's and
# mod_proxy_http's own errors about them (see t/codes/backend_abort.t).
my @bad = bad_log_lines(log_since($mark),
    qr/End of script output before headers|AH01102|AH00898/);
ok t_cmp(scalar @bad, 0, 'no error or warn lines') or print "# @bad\n";
