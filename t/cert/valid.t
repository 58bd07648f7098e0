# 5. A valid certificate is served with SUCCESS, keep-alive intact, and
#    mod_ssl's own per-directory SSLVerifyClient still works elsewhere.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 6;

my $t = t_dir();
my $on = port('cert_on');
# (mod_ssl's "Require ssl-verify-client" never grants on HTTP/2 streams,
# with or without this module, so /verified is asked over HTTP/1.1 only.)
for my $h ('--http1.1', '--http2') {
    my $second = $h eq '--http2' ? 'ok.html' : 'verified';
    my $out = `curl -sS --cacert $t/pki/ca.crt --resolve localhost:$on:127.0.0.1 $h --cert $t/pki/client-valid.pem -w ' %{http_code} %{num_connects}\\n' https://localhost:$on/ok.html https://localhost:$on/$second 2>&1`;
    ok t_cmp($out, "ok\n 200 1\nok\n 200 0\n", "$h: 200 twice on one connection");
    my $r = curl($h, '--cert', "$t/pki/client-valid.pem", "https://localhost:$on/ok.html");
    ok t_cmp($r->{headers}{'x-client-verify'}, 'SUCCESS', "$h: SUCCESS");
}

# mod_ssl's own per-directory SSLVerifyClient, on a vhost where the module
# is off (TLS 1.2: renegotiation).
my $p = port('modssl_perdir');
my $r = curl('--http1.1', '--tls-max', '1.2', '--cert', "$t/pki/client-valid.pem",
             "https://localhost:$p/secure/ok.html");
ok t_cmp($r->{status}, 200, 'mod_ssl per-directory SSLVerifyClient, valid: 200');
$r = curl('--http1.1', '--tls-max', '1.2', "https://localhost:$p/secure/ok.html");
ok t_cmp($r->{status} != 200 ? 'refused' : 'served', 'refused',
         'mod_ssl per-directory SSLVerifyClient, no certificate: refused');
