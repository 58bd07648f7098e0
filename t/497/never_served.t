# A request that earned 497 reaches no handler, proxy, CGI or rewrite, and
# the connection is never treated as TLS.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 18;

my $port = port('tls_on');
my $BODY = '<html><body>The plain HTTP request was sent to HTTPS port'
         . '</body></html>';

for my $path ('/proxied/ok.html', '/rewritten', '/redirected/x',
              '/cgi/env.cgi', '/ok.html') {
    my $r = parse_response(scalar raw_request($port,
        "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ok t_cmp("$r->{status} $r->{body}", "497 $BODY", "$path: 497 page only");
    ok t_cmp($r->{headers}{location}, undef, "$path: no redirect");
}

# The error document runs on a connection that is not TLS: SSLRequireSSL
# denies it, and the 497 still goes out (with core's note on the 403).
{
    my $p = port('tls_requiressl');
    my $mark = log_mark();
    my $r = parse_response(scalar raw_request($p,
        "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ok t_cmp($r->{status_line}, 'HTTP/1.1 497 HTTP Request Sent to HTTPS Port',
             'SSLRequireSSL document: still 497');
    ok t_cmp($r->{body} !~ /local 497 page/ ? 1 : 0, 1,
             'SSLRequireSSL document: denied');
    ok t_cmp($r->{body}, $BODY,
             'SSLRequireSSL document: the default page instead');
    ok t_cmp(log_since($mark), qr/AH02219: access to \S*\/errors\/497\.html failed, reason: SSL connection required/,
             'SSLRequireSSL document: mod_ssl denied it');
}

# HTTPS is off on the document's request, and "Require ssl" denies it.
{
    my $r = parse_response(scalar raw_request(port('tls_env'),
        "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ok t_cmp($r->{body}, "<html><body>local 497 page</body></html>\n",
             'error document served');
    ok t_cmp($r->{headers}{'x-https'}, 'off', 'error document: HTTPS is off');

    my $mark = log_mark();
    $r = parse_response(scalar raw_request(port('tls_require_ssl'),
        "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ok t_cmp("$r->{status} " . ($r->{body} =~ /local 497 page/ ? 'served' : 'denied'),
             '497 denied', 'Require ssl: the document is denied');
    ok t_cmp(log_since($mark), qr/AH01630: client denied by server configuration/,
             'Require ssl: authz denied it');
}
