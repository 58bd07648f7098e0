# The security invariants of SSLCodesVerifyClient, one block each.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 49;

my $t = t_dir();
my $on = port('cert_on');
my $noca = port('cert_no_ca');
my $sni = port('cert_sni');
my @expired = ('--cert', "$t/pki/client-expired.pem");
my @untrusted = ('--cert', "$t/pki/client-untrusted.pem");
my @valid = ('--cert', "$t/pki/client-valid.pem");

# 1. A request on a connection whose verification failed is never served,
#    in any location, over HTTP/1.1 and HTTP/2; several requests on the
#    same connection all get 495.
for my $h ('--http1.1', '--http2') {
    for my $path ('/ok.html', '/verified', '/sslrequire', '/rewrite', '/cgi/env.cgi') {
        my $r = curl($h, @expired, "https://localhost:$on$path");
        ok t_cmp($r->{status}, 495, "1: $h $path: 495");
    }
    my $out = `curl -sS --cacert $t/pki/ca.crt --resolve localhost:$on:127.0.0.1 $h --cert $t/pki/client-expired.pem -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\\n' https://localhost:$on/ok.html https://localhost:$on/verified 2>&1`;
    # HTTP/1.1: the 495 closed the connection, the next one fails again;
    # HTTP/2: the same connection answers the next stream with 495.
    ok t_cmp($out, $h eq '--http2' ? "495 1\n495 0\n" : "495 1\n495 1\n",
             "1: $h: the next request gets 495 too");
}

# 2. SSL_CLIENT_VERIFY never says SUCCESS for a failed verification:
#    optional_no_ca serves an untrusted issuer, and every view says FAILED.
for my $v (['--tls-max', '1.2', '--http1.1'], ['--tlsv1.3', '--http1.1'],
           ['--tlsv1.3', '--http2']) {
    my $name = "2: @$v";
    my $r = curl(@$v, @untrusted, "https://localhost:$noca/ok.html");
    ok t_cmp($r->{headers}{'x-client-verify'},
             'FAILED:unable to get local issuer certificate',
             "$name: mod_ssl's variable (mod_headers)");
    $r = curl(@$v, @untrusted, "https://localhost:$noca/verified");
    ok t_cmp($r->{status}, 403, "$name: Require ssl-verify-client denies");
    $r = curl(@$v, @untrusted, "https://localhost:$noca/sslrequire");
    ok t_cmp($r->{status}, 403, "$name: SSLRequire SUCCESS denies");
    $r = curl(@$v, @untrusted, "https://localhost:$noca/rewrite");
    ok t_cmp($r->{headers}{location},
             qr/\?FAILED:unable%20to%20get%20local%20issuer%20certificate$/,
             "$name: mod_rewrite %{SSL:SSL_CLIENT_VERIFY}");
    $r = curl(@$v, @untrusted, "https://localhost:$noca/cgi/env.cgi");
    ok t_cmp($r->{body}, qr/^SSL_CLIENT_VERIFY=FAILED:unable to get local issuer certificate$/m,
             "$name: CGI environment");
}
# The same checks can succeed: a valid certificate passes them all.
{
    my $r = curl('--tls-max', '1.2', '--http1.1', @valid, "https://localhost:$noca/verified");
    ok t_cmp($r->{status}, 200, '2: valid: Require ssl-verify-client grants');
    $r = curl('--tls-max', '1.2', '--http1.1', @valid, "https://localhost:$noca/sslrequire");
    ok t_cmp($r->{status}, 200, '2: valid: SSLRequire grants');
}

# s_client writes the response and its own report through separate buffers,
# which may interleave within a line ("read HTTP/1.1 ..."): status lines
# are matched anywhere.
# 3. A failed session is never resumed into a verified one: TLS 1.2
#    session id, TLS 1.2 ticket, TLS 1.3 ticket.
my $req = "printf 'GET /ok.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'";
sub s_client {
    my ($args) = @_;
    return `$req | openssl s_client -connect 127.0.0.1:$on -servername localhost -CAfile $t/pki/ca.crt -ign_eof $args 2>&1`;
}
for my $p (['-tls1_2 -no_ticket', 'TLS 1.2 session id'],
           ['-tls1_2', 'TLS 1.2 ticket'], ['-tls1_3', 'TLS 1.3 ticket']) {
    my ($proto, $name) = @$p;
    my $sess = "$t/logs/fail$proto.sess";
    $sess =~ s/ /_/g;
    unlink $sess;
    my $first = s_client("$proto -cert $t/pki/client-expired.pem -sess_out $sess");
    ok t_cmp($first, qr/HTTP\/1\.1 495 /, "3: $name: first connection 495");
    for my $with (['with the certificate', "-cert $t/pki/client-expired.pem", 495],
                  ['without a certificate', '', 496]) {
        my ($how, $cert, $code) = @$with;
        my $again = -s $sess ? s_client("$proto $cert -sess_in $sess")
                             : s_client("$proto $cert");
        ok t_cmp($again =~ /^Reused,/m ? 'resumed' : 'full handshake',
                 'full handshake', "3: $name, $how: not resumed");
        ok t_cmp($again, qr/HTTP\/1\.1 $code /, "3: $name, $how: $code");
    }
}
# Control: resumption itself works here, so the checks above can fail.
{
    my $sess = "$t/logs/valid.sess";
    unlink $sess;
    s_client("-tls1_2 -cert $t/pki/client-valid.pem -sess_out $sess");
    my $again = s_client("-tls1_2 -sess_in $sess");
    ok t_cmp($again =~ /^Reused,/m ? 'resumed' : 'full', 'resumed',
             '3: control: a verified TLS 1.2 session resumes');
}

# 4. Name-based vhosts on one port with different modes, chosen by SNI.
{
    my $r = curl('--http1.1', "https://a.test:$sni/ok.html");
    ok t_cmp($r->{status}, 496, '4: a.test (on), no certificate: 496');
    $r = curl('--http1.1', "https://b.test:$sni/ok.html");
    ok t_cmp("$r->{status} $r->{body}", "200 b.test ok\n",
             '4: b.test (optional), no certificate: served');
    $r = curl('--http1.1', @valid, "https://a.test:$sni/ok.html");
    ok t_cmp("$r->{status} $r->{headers}{'x-client-verify'}", '200 SUCCESS',
             '4: a.test (on), valid: served');
    $r = curl('--http1.1', "https://localhost:$sni/ok.html");
    ok t_cmp($r->{status}, 200, '4: localhost (off): served');
}
