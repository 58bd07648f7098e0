# 497 for every method and request form, on a TLS vhost with SSLCodes on.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $BODY = '<html><body>The plain HTTP request was sent to HTTPS port'
         . '</body></html>';
my $port = port('tls_on');

my @cases = (
    # [name, request, request line in the log, expect a body]
    ['GET with query', "GET /p?q=1&r=%41 HTTP/1.1\r\nHost: localhost\r\n\r\n",
     'GET /p?q=1&r=%41 HTTP/1.1', 1],
    ['HEAD', "HEAD /h HTTP/1.1\r\nHost: localhost\r\n\r\n",
     'HEAD /h HTTP/1.1', 0],
    ['POST with body', "POST /form HTTP/1.1\r\nHost: localhost\r\n"
         . "Content-Type: application/x-www-form-urlencoded\r\n"
         . "Content-Length: 7\r\n\r\na=1&b=2",
     'POST /form HTTP/1.1', 1],
    ['PUT with body', "PUT /file HTTP/1.1\r\nHost: localhost\r\n"
         . "Content-Length: 5\r\n\r\nhello",
     'PUT /file HTTP/1.1', 1],
    ['DELETE', "DELETE /file HTTP/1.1\r\nHost: localhost\r\n\r\n",
     'DELETE /file HTTP/1.1', 1],
    ['OPTIONS', "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
     'OPTIONS * HTTP/1.1', 1],
    ['PROPFIND', "PROPFIND /dav/ HTTP/1.1\r\nHost: localhost\r\n"
         . "Depth: 1\r\n\r\n",
     'PROPFIND /dav/ HTTP/1.1', 1],
    ['extension method', "BREW /pot HTTP/1.1\r\nHost: localhost\r\n\r\n",
     'BREW /pot HTTP/1.1', 1],
    ['HTTP/1.0 without Host', "GET /old HTTP/1.0\r\n\r\n",
     'GET /old HTTP/1.0', 1],
    ['absolute-form', "GET http://localhost:$port/abs?x=1 HTTP/1.1\r\n"
         . "Host: localhost\r\n\r\n",
     "GET http://localhost:$port/abs?x=1 HTTP/1.1", 1],
    ['keep-alive asked for', "GET /ka HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: keep-alive\r\n\r\n",
     'GET /ka HTTP/1.1', 1],
);

plan tests => 9 * @cases + 5;

for my $c (@cases) {
    my ($name, $req, $line, $has_body) = @$c;
    my $mark = log_mark();
    my $amark = access_mark();
    my ($raw, $closed) = raw_request($port, $req);
    my $r = parse_response($raw);

    ok t_cmp($r->{status_line}, 'HTTP/1.1 497 HTTP Request Sent to HTTPS Port',
             "$name: status line");
    ok t_cmp($r->{headers}{'content-type'}, 'text/html', "$name: type");
    ok t_cmp($r->{headers}{connection}, 'close', "$name: Connection: close");
    ok t_cmp($r->{body}, $has_body ? $BODY : '', "$name: body");
    ok t_cmp($closed, 1, "$name: server closed the connection");
    ok t_cmp(parse_responses($raw), 1, "$name: one response");

    my $log = wait_log($mark, qr/SSLCODES0101/);
    ok t_cmp($log, qr/\[sslcodes:info\].*SSLCODES0101: client sent plain HTTP request to HTTPS port \(vhost localhost:\d+, request "\Q$line\E"\): 497/,
             "$name: one info line in the error log");
    my $access = wait_log($amark, qr/ 497 /, 'access');
    ok t_cmp($access, qr/^127\.0\.0\.1 "\Q$line\E" 497 497 /m,
             "$name: access log has the real request, 497, SSLCODES_STATUS");
    ok t_cmp([bad_log_lines($log)], [], "$name: no error or warn lines");
}

# HTTP/1.1 without Host is core's 400 (checked before 497, as nginx does).
{
    my $mark = log_mark();
    my ($raw) = raw_request($port, "GET /nohost HTTP/1.1\r\n\r\n");
    my $r = parse_response($raw);
    ok t_cmp($r->{status}, 400, 'HTTP/1.1 without Host: 400');
    ok t_cmp($r->{body}, 'core 400 document',
             'HTTP/1.1 without Host: core answered it');
    my $log = log_since($mark);
    ok t_cmp($log !~ /SSLCODES0101/ ? 1 : 0, 1,
             'HTTP/1.1 without Host: no 497 logged');
}

# The body of a POST reaches no handler: the server answers at once, and
# a request body that was never read does not become a second request.
{
    my ($raw, $closed) = raw_request($port,
        "POST /form HTTP/1.1\r\nHost: localhost\r\nContent-Length: 38\r\n\r\n"
        . "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    ok t_cmp(parse_responses($raw), 1, 'POST body is never parsed as a request');
    ok t_cmp($raw !~ /smuggled/ ? 1 : 0, 1, 'smuggled request not answered');
}
