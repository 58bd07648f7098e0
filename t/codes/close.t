# 444: wherever the module is loaded, a request whose status becomes 444
# gets nothing at all.  HTTP/1.x: the connection is closed without a byte;
# HTTP/2: only the stream is reset.  Also the close action of
# SSLCodesErrorDocument, which counts as its 49x only.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time);
use SSLCodesTest;

my $t = t_dir();

plan tests => 31;

unlink "$t/logs/marks";

sub counters {
    my ($raw) = raw_request(port('status'),
        "GET /server-status?auto HTTP/1.0\r\n\r\n");
    my %c = $raw =~ /^SSLCodes(\w+): (\d+)/mg;
    return \%c;
}

my $mark = log_mark();
my $amark = access_mark();
my $before = counters();

# Redirect 444, a RewriteRule that leads to it, a module that is off, and
# core's local ErrorDocument 500 (the slot 444 shares) that must not run.
my @cases = (
    [codes_plain => '/redirect444', 'Redirect 444'],
    [codes_plain => '/rewrite444', 'RewriteRule to Redirect 444'],
    [codes_off => '/redirect444', 'Redirect 444, module off'],
    [codes_corelocal => '/redirect444', 'core local ErrorDocument 500'],
);
# "At once": the server closes in milliseconds.  A connection kept open
# instead would be closed only by the vhost's KeepAliveTimeout (30 s in
# extra.conf.in for these vhosts), and a request body waited for only by
# Timeout (60 s); closed within AT_ONCE proves neither happened, with
# room for a slow machine.
use constant AT_ONCE => 15;
for my $c (@cases) {
    my ($v, $path, $name) = @$c;
    my $start = time;
    my ($raw, $closed) = raw_request(port($v),
        "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n"
        . "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ok t_cmp(length $raw, 0, "$name: not a byte, not even for the "
             . "pipelined second request");
    ok t_cmp($closed, 1, "$name: keep-alive connection closed");
    ok t_cmp(time - $start < AT_ONCE ? 1 : 0, 1, "$name: at once");
}
ok t_cmp(-e "$t/logs/marks" ? 1 : 0, 0, "core's ErrorDocument 500 never ran");

# A request body is never read: the close comes before it is sent.
my $start = time;
my ($raw, $closed) = raw_request(port('codes_plain'),
    [["POST /redirect444 HTTP/1.1\r\nHost: localhost\r\n"
      . "Content-Length: 100000\r\n\r\n", 0]]);
ok t_cmp(length $raw, 0, 'POST with an unsent body: not a byte');
ok t_cmp($closed && time - $start < AT_ONCE ? 1 : 0, 1,
         'POST with an unsent body: closed at once');

my $alog = wait_log($amark, qr/(?:" 444 .*\n.*){5}/, 'access');
my @n = $alog =~ /"(?:GET|POST) \/(?:redirect|rewrite)444 HTTP\/1\.1" 444 /g;
ok t_cmp(scalar @n, 5, 'access log: 444 for each');
my $log = wait_log($mark, qr/(?:SSLCODES0202.*\n.*){5}/);
@n = $log =~ /\[sslcodes:info\].*SSLCODES0202: closing the connection without a response \(vhost [^)]*, request "(?:GET|POST) \/\w+444 HTTP\/1\.1"\): 444/g;
ok t_cmp(scalar @n, 5, 'one info line each');

# The close action for 497: nothing, logged 444, counted as 497 only.
my $tls = port('codes_tls_close');
($raw, $closed) = raw_request($tls,
    "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
ok t_cmp(length $raw, 0, '497 close: not a byte');
ok t_cmp($closed, 1, '497 close: closed');
$alog = wait_log($amark, qr/ 444 497 /, 'access');
ok t_cmp($alog, qr/"GET \/ok\.html HTTP\/1\.1" 444 497 /,
         '497 close: access log 444, SSLCODES_STATUS 497');
$log = wait_log($mark, qr/plain HTTP request to HTTPS port.*: 497/);
ok t_cmp($log, qr/SSLCODES0101: client sent plain HTTP request to HTTPS port/,
         '497 close: the 497 line');

my $after = counters();
ok t_cmp($after->{444} - $before->{444}, 5, 'counted: five 444');
ok t_cmp($after->{497} - $before->{497}, 1, 'counted: one 497');

# HTTP/2: the stream is reset, and the next stream on the same connection
# is answered.
my $out = `nghttp -nv https://127.0.0.1:$tls/redirect444 https://127.0.0.1:$tls/ok.html 2>&1`;
ok t_cmp($out, qr/recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>/,
         'HTTP/2: RST_STREAM for the 444 stream');
ok t_cmp($out, qr/recv \(stream_id=15\) :status: 200/,
         'HTTP/2: the second stream gets 200');
ok t_cmp($out =~ /stream_id=13\) :status/ ? 1 : 0, 0,
         'HTTP/2: no status for the 444 stream');
ok t_cmp($out =~ /GOAWAY.*error_code=(?!NO_ERROR)/ ? 1 : 0, 0,
         'HTTP/2: the connection is not torn down');
$alog = wait_log($amark, qr/"GET \/redirect444 HTTP\/2\.0" 444 /, 'access');
ok t_cmp($alog, qr/"GET \/redirect444 HTTP\/2\.0" 444 /,
         'HTTP/2: access log 444');
$log = wait_log($mark, qr/closing the stream/);
ok t_cmp($log, qr/SSLCODES0202: closing the stream without a response/,
         'HTTP/2: info line');

# TLS HTTP/1.1: no byte of HTTP; the connection closes.
my $c = curl('--http1.1', "https://localhost:$tls/redirect444");
ok t_cmp($c->{status}, 0, 'TLS HTTP/1.1: no response');

my @bad = bad_log_lines(log_since($mark));
ok t_cmp(scalar @bad, 0, 'no error or warn lines') or print "# @bad\n";
