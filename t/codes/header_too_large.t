# 494 (SSLCodesHeaderTooLarge): a header field over LimitRequestFieldSize,
# or more fields than LimitRequestFields, whatever core's ErrorDocument 400
# is; each SSLCodesErrorDocument form in both wire modes; plain and TLS
# ports, where 494 wins over 497 and 496; a long request line stays 414.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use IO::Select;
use Time::HiRes qw(time);
use SSLCodesTest;

my $t = t_dir();
my $big = "X-Big: " . ('A' x 600) . "\r\n";
my $cookie = "Cookie: c=" . ('B' x 600) . "\r\n";
my $many = join '', map { "X-F$_: v\r\n" } 1 .. 12;
my $native_page = '<html><body>Request Header Or Cookie Too Large</body></html>';

plan tests => 74;

unlink "$t/logs/marks";

sub get {
    my ($vhost, $extra, $method) = @_;
    $method //= 'GET';
    my ($raw, $closed) = raw_request(port($vhost),
        "$method /ok.html HTTP/1.1\r\nHost: localhost\r\n$extra\r\n");
    my $r = parse_response($raw);
    $r->{closed} = $closed;
    $r->{raw} = $raw;
    return $r;
}

my $mark = log_mark();
my $amark = access_mark();

# The built-in page, for a long field, a long cookie and too many fields.
for my $case (['long field', $big], ['long cookie', $cookie],
              ['too many fields', $many]) {
    my $r = get('codes_plain', $case->[1]);
    ok t_cmp($r->{status_line}, 'HTTP/1.1 494 Request Header Too Large',
             "$case->[0]: status line");
    ok t_cmp($r->{body}, $native_page, "$case->[0]: body");
    ok t_cmp($r->{headers}{'content-type'}, 'text/html', "$case->[0]: type");
    ok t_cmp($r->{headers}{connection}, 'close', "$case->[0]: Connection");
}
my $log = wait_log($mark, qr/too many header lines/);
ok t_cmp($log, qr/\[sslcodes:info\].*SSLCODES0101: client sent too long header line: "X-Big: A{57}\.\.\." \(vhost .*\): 494/,
         'the info line names the header, cut');
ok t_cmp($log, qr/SSLCODES0101: client sent too long header line: "Cookie: c=B+\.\.\."/,
         'the info line names the cookie');
ok t_cmp($log, qr/SSLCODES0101: client sent too many header lines \(LimitRequestFields 10\)/,
         'the info line for too many fields');
my $alog = wait_log($amark, qr/(?:494.*\n.*){3}/, 'access');
my @n = $alog =~ /" 494 494 /g;
ok t_cmp(scalar @n, 3, 'access log: 494 and SSLCODES_STATUS 494, three times');

# HEAD: headers only.
my $r = get('codes_plain', $big, 'HEAD');
ok t_cmp($r->{status}, 494, 'HEAD: 494');
ok t_cmp($r->{body}, '', 'HEAD: no body');

# A long request line stays core's 414; a normal request is served.
my ($raw) = raw_request(port('codes_plain'),
    "GET /" . ('a' x 600) . " HTTP/1.1\r\nHost: localhost\r\n\r\n");
ok t_cmp(parse_response($raw)->{status}, 414, 'long request line: 414');
# (Connection: close, or the answer's keep-alive connection would stay
# open for codes_plain's KeepAliveTimeout of 30 s.)
$r = get('codes_plain', "X-Small: ok\r\nConnection: close\r\n");
ok t_cmp($r->{status}, 200, 'a header within the limits: 200');

# Off: core's 400 with its document.
$r = get('codes_off', $big);
ok t_cmp($r->{status}, 400, 'off: 400');
ok t_cmp($r->{body}, 'core 400 document', 'off: core ErrorDocument 400');

# Core's ErrorDocument 400 as a local URL or an external one: still 494,
# and the local document never runs.
for my $v (qw(codes_corelocal codes_coreext)) {
    for my $case ([field => $big], [count => $many]) {
        $r = get($v, $case->[1]);
        ok t_cmp($r->{status_line}, 'HTTP/1.1 494 Request Header Too Large',
                 "$v, $case->[0]: 494");
        ok t_cmp($r->{body}, $native_page, "$v, $case->[0]: body");
        ok t_cmp($r->{headers}{location}, undef, "$v, $case->[0]: no Location");
    }
}
ok t_cmp(-e "$t/logs/marks" ? 1 : 0, 0, "core's local ErrorDocument never ran");

# SSLCodesErrorDocument 494 in each form, native and nginx.
my $nginx_page = qr{^<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n<hr><center>Apache[^<]*</center>\r\n</body>\r\n</html>\r\n$};
my @forms = (
    [codes_local => 'HTTP/1.1 494 Request Header Too Large',
     qr/local 494 document/],
    [codes_text => 'HTTP/1.1 494 Request Header Too Large',
     qr/^Headers too big\.$/],
    [codes_ext => 'HTTP/1.1 301 Moved Permanently', qr/moved/,
     'https://example.com/big'],
    [codes_status => 'HTTP/1.1 403 Forbidden', qr/local 494 document/],
    [codes_nginx => 'HTTP/1.1 400 Bad Request', $nginx_page],
    [codes_nginx_local => 'HTTP/1.1 400 Bad Request',
     qr/local 494 document/],
    [codes_nginx_text => 'HTTP/1.1 400 Bad Request', qr/^Headers too big\.$/],
    [codes_nginx_ext => 'HTTP/1.1 302 Found', qr/moved/,
     'https://example.com/big'],
);
for my $f (@forms) {
    my ($v, $line, $body, $loc) = @$f;
    $r = get($v, $big);
    ok t_cmp($r->{status_line}, $line, "$v: status line");
    ok t_cmp($r->{body}, $body, "$v: body");
    ok t_cmp($r->{headers}{location}, $loc, "$v: Location");
}

# A default vhost that answers everything 444 (Redirect 444 /): its 494
# document is refused too, and the built-in page goes out, with a line
# that says why.
$mark = log_mark();
$amark = access_mark();
$r = get('codes_default444', $big);
ok t_cmp($r->{status_line}, 'HTTP/1.1 494 Request Header Too Large',
         'Redirect 444 /: still 494');
ok t_cmp($r->{body}, $native_page, 'Redirect 444 /: the built-in page');
$alog = wait_log($amark, qr/ 494 494 /, 'access');
ok t_cmp($alog, qr{"GET /ok\.html HTTP/1\.1" 494 494 }, 'Redirect 444 /: logged 494');
$log = wait_log($mark, qr/SSLCODES0108/);
ok t_cmp($log, qr{SSLCODES0108: the error document /errors/494\.html for 494 ended with status 444 \(vhost .*\); the access log keeps 494},
         'Redirect 444 /: the info line says why');

# The close action: nothing at all, logged as 444, counted as 494.
$amark = access_mark();
($raw, my $closed) = raw_request(port('codes_close'),
    "GET / HTTP/1.1\r\nHost: localhost\r\n$big\r\n");
ok t_cmp(length $raw, 0, 'close: not a byte');
ok t_cmp($closed, 1, 'close: the connection is closed');
$alog = wait_log($amark, qr/ 444 /, 'access');
ok t_cmp($alog, qr/ 444 494 /, 'close: access log 444, SSLCODES_STATUS 494');

# A TLS port with SSLCodes on and SSLCodesVerifyClient on: 494 wins over
# 497 (plain) and over 496 (TLS without a certificate).
my $tls = port('codes_tls');
$r = get('codes_tls', $big);
ok t_cmp($r->{status}, 494, 'plain on a 497 port: 494 wins');
$r = get('codes_tls', "X-Small: ok\r\n");
ok t_cmp($r->{status}, 497, 'plain on a 497 port, small header: 497');
for my $case ([field => $big], [count => $many], [none => '']) {
    my $out = tls_until_close($tls, 'localhost',
        "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n$case->[1]\r\n");
    my $want = $case->[0] eq 'none' ? 496 : 494;
    ok t_cmp(parse_response($out)->{status}, $want,
             "TLS without a certificate, $case->[0]: $want");
}

# HTTP/2: mod_http2's 431 for the same limits becomes 494; the
# connection stays up for the next stream.
my $a = 'A' x 600;
my $out = `nghttp -v -H 'x-big: $a' https://127.0.0.1:$tls/ok.html 2>&1`;
ok t_cmp($out, qr/recv \(stream_id=13\) :status: 494/, 'HTTP/2, long field: 494');
ok t_cmp($out, qr/Request Header Or Cookie Too Large/, 'HTTP/2: the page')
    or print "# $out\n";

# No unexpected error or warning lines.
my @bad = bad_log_lines(log_since($mark));
ok t_cmp(scalar @bad, 0, 'no error or warn lines') or print "# @bad\n";
