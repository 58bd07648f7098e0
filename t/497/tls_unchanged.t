# TLS clients notice nothing on a vhost with SSLCodes on.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 17;

my $port = port('tls_on');
my $t = t_dir();

for my $v (['--tlsv1.2', '--tls-max', '1.2', '--http1.1'],
           ['--tlsv1.3', '--http1.1'], ['--http2']) {
    my $c = curl(@$v, "https://localhost:$port/ok.html");
    ok t_cmp("$c->{status} $c->{body}", "200 ok\n", "@$v: 200");
}
my $c = curl('--http2', "https://a.test:$port/ok.html");
ok t_cmp($c->{status_line}, qr/^HTTP\/2 200/, 'h2 via ALPN on an SNI vhost');
ok t_cmp($c->{body}, "a.test ok\n", 'h2 on a.test: its document');

# Keep-alive: two requests on one connection.
my $out = `curl -sS --cacert $t/pki/ca.crt --http1.1 --resolve localhost:$port:127.0.0.1 -w '%{num_connects}\\n' https://localhost:$port/ok.html https://localhost:$port/ok.html 2>&1`;
ok t_cmp($out, qr/^ok\n1\nok\n0\n$/, 'TLS keep-alive: second request reuses the connection');

# Session resumption, TLS 1.2 (session id) and TLS 1.3 (ticket).
for my $proto ('-tls1_2', '-tls1_3') {
    my $sess = "$t/logs/sess$proto.pem";
    unlink $sess;
    my $req = "printf 'GET /ok.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'";
    my $first = `$req | openssl s_client $proto -connect 127.0.0.1:$port -servername localhost -CAfile $t/pki/ca.crt -sess_out $sess -ign_eof 2>&1`;
    ok t_cmp($first, qr/Verify return code: 0 \(ok\)/, "$proto: first handshake");
    my $again = `$req | openssl s_client $proto -connect 127.0.0.1:$port -servername localhost -CAfile $t/pki/ca.crt -sess_in $sess -ign_eof 2>&1`;
    ok t_cmp($again, qr/^Reused, /m, "$proto: session resumed");
    ok t_cmp($again, qr/HTTP\/1\.1 200 OK/, "$proto: 200 on the resumed session");
}

# mod_ssl's own SSLVerifyClient require, on a vhost with SSLCodes on.
my $mv = port('tls_modssl_verify');
$c = curl('--http1.1', '--cert', "$t/pki/client-valid.pem",
          "https://localhost:$mv/ok.html");
ok t_cmp("$c->{status} $c->{body}", "200 ok\n", 'SSLVerifyClient require, valid cert: 200');
$c = curl('--http1.1', "https://localhost:$mv/ok.html");
ok t_cmp($c->{status}, 0, 'SSLVerifyClient require, no cert: handshake fails, as stock');
$c = parse_response(scalar raw_request($mv, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
ok t_cmp($c->{status}, 497, 'SSLVerifyClient require vhost: plain still 497');

# TLS enabled only by "Listen ... https".
my $ip = port('tls_implicit');
$c = curl('--http1.1', "https://localhost:$ip/ok.html");
ok t_cmp("$c->{status} $c->{body}", "200 ok\n", 'Listen ... https: TLS 200');
$c = parse_response(scalar raw_request($ip, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
ok t_cmp($c->{status}, 497, 'Listen ... https: plain 497');
