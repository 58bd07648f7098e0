# With the module loaded and off, a TLS vhost behaves as stock mod_ssl.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 12;

my $port = port('tls_off');
my $mark = log_mark();

# Plain HTTP: mod_ssl's own 400 with its reason, as without the module.
my ($raw, $closed) = raw_request($port, "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n");
my $r = parse_response($raw);
ok t_cmp($r->{status_line}, 'HTTP/1.1 400 Bad Request', 'plain: 400');
# ErrorDocument 400 is configured server-wide, and stock honours it.
ok t_cmp($r->{body}, 'core 400 document', 'plain: core ErrorDocument 400');
ok t_cmp($closed, 1, 'plain: closed');
my $access = wait_log(0, qr/GET \/ HTTP\/1\.0" 400/, 'access');
ok t_cmp($access, qr/"GET \/ HTTP\/1\.0" 400 - /,
         "plain: mod_ssl's fake request line, SSLCODES_STATUS unset");

# A method mod_ssl does not recognise gets its connection dropped.
($raw, $closed) = raw_request($port, "PROPFIND /x HTTP/1.1\r\nHost: localhost\r\n\r\n");
ok t_cmp($raw, '', 'plain PROPFIND: no answer, as stock');

for my $v (['--tlsv1.2', '--tls-max', '1.2', '--http1.1'],
           ['--tlsv1.3', '--http1.1'],
           ['--http2']) {
    my $c = curl(@$v, "https://localhost:$port/ok.html");
    ok t_cmp($c->{status}, 200, "TLS @$v: 200");
    ok t_cmp($c->{body}, "ok\n", "TLS @$v: body");
}

my $log = log_since($mark);
ok t_cmp($log !~ /SSLCODES01/ ? 1 : 0, 1, 'no 49x event logged');
