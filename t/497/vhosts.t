# Name-based vhosts on one TLS port: Host chooses, as for any request.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 14;

my $port = port('tls_on');

sub plain {
    my $host = shift;
    my $req = "GET /v HTTP/1.1\r\n" . (defined $host ? "Host: $host\r\n" : '')
            . "\r\n";
    $req =~ s/1\.1/1.0/ unless defined $host;
    return parse_response(scalar raw_request($port, $req));
}

# a.test has SSLCodes on and adds a header of its own.
my $mark = log_mark();
my $r = plain('a.test');
ok t_cmp($r->{status}, 497, 'a.test: 497');
ok t_cmp($r->{headers}{'x-vhost'}, 'a.test', 'a.test: its own vhost answered');
ok t_cmp(log_since($mark), qr/SSLCODES0101: .*\(vhost a\.test:\d+,/,
         'a.test: log names the vhost');

# b.test has SSLCodes off: a stock-like 400, never content.
$mark = log_mark();
$r = plain('B.Test');
ok t_cmp($r->{status_line}, 'HTTP/1.1 400 Bad Request', 'b.test (off): 400');
ok t_cmp($r->{body}, 'core 400 document', 'b.test (off): the 400 document');
ok t_cmp($r->{headers}{connection}, 'close', 'b.test (off): closed');
ok t_cmp($r->{body} !~ /b\.test ok/ ? 1 : 0, 1, 'b.test (off): not served');
ok t_cmp(log_since($mark), qr/\[sslcodes:info\].*SSLCODES0102: client sent plain HTTP request to HTTPS port, SSLCodes is off for vhost b\.test:\d+: 400/,
         'b.test (off): logged');

# An unknown Host, and no Host at all on HTTP/1.0: the default vhost.
$r = plain('unknown.example');
ok t_cmp($r->{status}, 497, 'unknown Host: 497');
ok t_cmp($r->{headers}{'x-vhost'}, undef, 'unknown Host: default vhost');
$r = plain(undef);
ok t_cmp($r->{status}, 497, 'HTTP/1.0 without Host: 497');
ok t_cmp($r->{headers}{'x-vhost'}, undef, 'HTTP/1.0 without Host: default vhost');

# TLS on the same port still reaches each vhost by SNI and Host.
my $c = curl('--http1.1', "https://a.test:$port/ok.html");
ok t_cmp("$c->{status} $c->{body}", "200 a.test ok\n", 'TLS a.test: 200');
$c = curl('--http1.1', "https://b.test:$port/ok.html");
ok t_cmp("$c->{status} $c->{body}", "200 b.test ok\n", 'TLS b.test: 200');
