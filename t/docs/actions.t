# Every SSLCodesErrorDocument action, in both wire modes, for GET, HEAD
# and POST; raw request-targets are kept byte for byte.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $native = port('docs');
my $nginx = port('docs_nginx');
my $https = port('docs_https');
my $URI = '/p%20x/y?a=b&c=%41';
my $DOC = "<html><body>local 497 page</body></html>\n";
my $NATIVE_497 = 'HTTP/1.1 497 HTTP Request Sent to HTTPS Port';
my $TEXT = 'The plain HTTP request was sent to HTTPS port';

sub ask {
    my ($port, $host, $method, %o) = @_;
    my $target = $o{target} // $URI;
    my $body = $method eq 'POST' ? 'x=1&y=2' : '';
    my $req = "$method $target HTTP/1.1\r\nHost: $host\r\n"
            . ($body ? "Content-Type: application/x-www-form-urlencoded\r\n"
                       . "Content-Length: " . length($body) . "\r\n" : '')
            . "\r\n$body";
    my ($raw, $closed) = raw_request($port, $req);
    my $r = parse_response($raw);
    $r->{closed} = $closed;
    return $r;
}

my $nginx_page = qr{\A<html>\r\n<head><title>400 \Q$TEXT\E</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>\Q$TEXT\E</center>\r\n<hr><center>Apache[^<]*</center>\r\n</body>\r\n</html>\r\n\z};

# [name, port, host, status line, headers {name => value|re}, body|re]
my @cases = (
    ['native default', $native, 'localhost', $NATIVE_497,
     { 'content-type' => 'text/html' },
     "<html><body>$TEXT</body></html>"],
    ['native default =403', $native, 'default403.test', 'HTTP/1.1 403 Forbidden',
     { 'content-type' => 'text/html' },
     "<html><body>$TEXT</body></html>"],
    ['native local', $native, 'local.test', $NATIVE_497,
     { 'content-type' => 'text/html' }, $DOC],
    ['native local =403', $native, 'local403.test', 'HTTP/1.1 403 Forbidden',
     { 'content-type' => 'text/html' }, $DOC],
    ['native local expression', $native, 'exprlocal.test', $NATIVE_497, {}, $DOC],
    ['native external 302', $native, 'ext.test', 'HTTP/1.1 302 Found',
     { location => 'https://example.com/moved?x=1' }, qr/moved <a href="https:\/\/example\.com\/moved\?x=1">here<\/a>/],
    ['native external 301', $native, 'ext301.test', 'HTTP/1.1 301 Moved Permanently',
     { location => 'https://example.com/moved' }, qr/here/],
    ['native external 307', $native, 'ext307.test', 'HTTP/1.1 307 Temporary Redirect',
     { location => 'https://example.com/moved' }, qr/here/],
    ['native external 308', $native, 'ext308.test', 'HTTP/1.1 308 Permanent Redirect',
     { location => 'https://example.com/moved' }, qr/here/],
    ['native text', $native, 'text.test', $NATIVE_497,
     { 'content-type' => 'text/html' }, 'Use https, please.'],
    ['native text =403', $native, 'text403.test', 'HTTP/1.1 403 Forbidden', {},
     'No plain HTTP here.'],
    ['native https', $https, 'https.test', 'HTTP/1.1 301 Moved Permanently',
     { location => "https://https.test:$https$URI" }, qr/here/],
    ['native https, alias', $https, 'ALIAS.test:1234', 'HTTP/1.1 301 Moved Permanently',
     { location => "https://alias.test:$https$URI" }, qr/here/],
    ['native https, wildcard alias', $https, 'x.wild.test', 'HTTP/1.1 301 Moved Permanently',
     { location => "https://x.wild.test:$https$URI" }, qr/here/],
    ['native https, IPv6 literal', $https, '[::1]:1234', 'HTTP/1.1 301 Moved Permanently',
     { location => "https://[::1]:$https$URI" }, qr/here/],
    ['native expression', $native, 'EXPR.test:1234', 'HTTP/1.1 301 Moved Permanently',
     { location => "https://expr.test$URI" }, qr/here/],
    ['native expression text', $native, 'exprtext.test', $NATIVE_497, {},
     "host=exprtext.test uri=$URI"],
    ['nginx default', $nginx, 'localhost', 'HTTP/1.1 400 Bad Request',
     { 'content-type' => 'text/html' }, $nginx_page],
    ['nginx local', $nginx, 'local.test', 'HTTP/1.1 400 Bad Request', {}, $DOC],
    ['nginx local =403', $nginx, 'local403.test', 'HTTP/1.1 403 Forbidden', {}, $DOC],
    ['nginx external', $nginx, 'ext.test', 'HTTP/1.1 302 Found',
     { location => 'https://example.com/moved?x=1' }, qr/here/],
    ['nginx text', $nginx, 'text.test', 'HTTP/1.1 400 Bad Request', {},
     'Use https, please.'],
    ['nginx https', $nginx, 'https.test', 'HTTP/1.1 308 Permanent Redirect',
     { location => "https://https.test:$nginx$URI" }, qr/here/],
    ['nginx expression', $nginx, 'expr.test', 'HTTP/1.1 301 Moved Permanently',
     { location => "https://expr.test$URI" }, qr/here/],
);

plan tests => @cases * 3 * 5 + 16;

for my $c (@cases) {
    my ($name, $port, $host, $line, $hdrs, $body) = @$c;
    for my $method (qw(GET HEAD POST)) {
        my $amark = access_mark();
        my $r = ask($port, $host, $method);
        my $n = "$name, $method";
        ok t_cmp($r->{status_line}, $line, "$n: status line");
        my $hok = 1;
        for my $h (sort keys %$hdrs) {
            $hok &&= t_cmp($r->{headers}{$h}, $hdrs->{$h}, "$n: $h");
        }
        ok $hok;
        ok t_cmp($r->{body}, $method eq 'HEAD' ? '' : $body, "$n: body");
        # (A local document may also carry core's "Upgrade: h2" offer.)
        ok t_cmp("$r->{headers}{connection} $r->{closed}", qr/\bclose 1$/,
                 "$n: Connection: close, and closed");
        my ($code) = $line =~ / (\d{3}) /;
        ok t_cmp(wait_log($amark, qr/" $code /, 'access'),
                 qr/"\Q$method $URI\E HTTP\/1\.1" $code 497 /,
                 "$n: access log: wire status and SSLCODES_STATUS");
    }
}

# The CGI error document sees what core's ErrorDocument would give it.
{
    my $r = ask($native, 'cgi.test', 'POST');
    my %env = $r->{body} =~ /^(\w+)=(.*)$/mg;
    ok t_cmp($r->{status_line}, $NATIVE_497, 'CGI document: 497');
    ok t_cmp($env{REDIRECT_STATUS}, '497', 'CGI: REDIRECT_STATUS');
    ok t_cmp($env{REDIRECT_URL}, '/p%20x/y', 'CGI: REDIRECT_URL');
    ok t_cmp($env{REDIRECT_QUERY_STRING}, 'a=b&c=%41', 'CGI: REDIRECT_QUERY_STRING');
    ok t_cmp($env{REDIRECT_REQUEST_METHOD}, 'POST', 'CGI: REDIRECT_REQUEST_METHOD');
    ok t_cmp($env{REQUEST_METHOD}, 'GET', 'CGI: fetched with GET');
    ok t_cmp($env{SSLCODES_STATUS}, '497', 'CGI: SSLCODES_STATUS');
    ok t_cmp($env{HTTPS}, undef, 'CGI: HTTPS not on');
    ok t_cmp($env{CONTENT_LENGTH}, undef, 'CGI: the POST body is not passed on');
}

# https with hostile Hosts goes to ServerName; nothing reaches the header.
for my $bad ('evil.example', 'https.test.evil.example', 'x' x 300,
             "https.test:1/\@evil.example", '[::2]') {
    my $r = ask($https, $bad, 'GET');
    ok t_cmp($r->{headers}{location}, $r->{status} == 301
                 ? "https://https.test:$https$URI" : undef,
             'https: hostile Host ' . substr($bad, 0, 24) . ': ServerName');
}
# An absolute-form target names the host, as for nginx's $host.
{
    my $r = ask($https, 'evil.example', 'GET',
                target => "http://alias.test:99/abs?q=1");
    ok t_cmp($r->{headers}{location}, "https://alias.test:$https/abs?q=1",
             'https: absolute-form host and path');
    my ($raw) = raw_request($https, "GET /x HTTP/1.1\r\nHost: a\rb.test\r\n\r\n");
    ok t_cmp($raw !~ /^Location:.*b\.test/mi ? 1 : 0, 1,
             'https: CR in Host never reaches Location');
}
