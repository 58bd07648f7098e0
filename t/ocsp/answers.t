# OCSP under SSLCodesVerifyClient: a real responder's good, revoked and
# unknown answers, over HTTP/1.1 and HTTP/2 with TLS 1.2 and 1.3, for the
# client certificate (SSLOCSPEnable leaf) and its whole chain (on).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesOCSP;

my $P495 = '<html><body>The SSL certificate error</body></html>';
my @wires = (['HTTP/1.1 TLS 1.2', '--http1.1', '--tls-max', '1.2'],
             ['HTTP/1.1 TLS 1.3', '--http1.1', '--tlsv1.3'],
             ['HTTP/2 TLS 1.2', '--http2', '--tls-max', '1.2'],
             ['HTTP/2 TLS 1.3', '--http2', '--tlsv1.3']);

# cert => [status, SSL_CLIENT_VERIFY, SSLCODES_VERIFY_ERROR, log line]
my %want = (
    'valid' => [200, 'SUCCESS'],
    'ocsp-revoked' => [495, 'FAILED:certificate revoked',
        '23:certificate revoked',
        qr/\[sslcodes:info\].*SSLCODES0501: OCSP: client certificate \(depth 0, serial 1006, subject \/CN=client ocsp revoked\) is revoked, reason keyCompromise, says http:\/\/127\.0\.0\.1:9990\/(?:leaf|chain)/],
    'ocsp-unknown' => [495, 'FAILED:OCSP unknown cert', '75:OCSP unknown cert',
        qr/\[sslcodes:info\].*SSLCODES0502: OCSP: client certificate \(depth 0, serial 7777, subject \/CN=client ocsp unknown\) is unknown to http:\/\/127\.0\.0\.1:9990\/(?:leaf|chain)/],
);
my @certs = ('valid', 'ocsp-revoked', 'ocsp-unknown');

plan tests => @certs * @wires * 5 + 2 * @wires + 2 * 5 + 1;

my $t = t_dir();
my $responder = ocsp_responder(port => 9990);

sub check {
    my ($vhost, $cert, @opt) = @_;
    my ($wname) = shift @opt;
    my $port = port($vhost);
    my $name = "$vhost, $cert, $wname";
    my ($status, $verify, $error, $line) = @{ $want{$cert} };
    my $mark = log_mark();
    my $r = curl(@opt, '--cert', "$t/pki/client-$cert.pem",
                 "https://localhost:$port/ok.html");
    my $log = $status == 495 ? wait_log($mark, qr/SSLCODES0101/)
                             : log_since($mark);
    ok t_cmp($r->{status}, $status, "$name: status");
    ok t_cmp($r->{headers}{'x-client-verify'}, $verify,
             "$name: SSL_CLIENT_VERIFY");
    if ($status == 495) {
        ok t_cmp($r->{status_line},
                 qr/^HTTP\/(?:1\.1 495 SSL Certificate Error|2 495)\s*$/,
                 "$name: status line");
        ok t_cmp($r->{body}, $P495, "$name: 495 page");
        ok t_cmp($r->{headers}{'x-verify-error'} // $error, $error,
                 "$name: SSLCODES_VERIFY_ERROR");
        ok t_cmp($log, qr/$line.*\n(?:.*\n)*.*SSLCODES0101: client SSL certificate verify error: \(\Q$error\E\)/,
                 "$name: logged why, then the 495");
    }
    else {
        ok t_cmp($r->{body}, "ok\n", "$name: content");
        ok t_cmp($log, qr/OCSP: client certificate good/,
                 "$name: checked (trace)");
        ok t_cmp([bad_log_lines($log)], [], "$name: no error lines");
    }
}

for my $cert (@certs) {
    check('ocsp_leaf', $cert, @$_) for @wires;
}
# "SSLOCSPEnable on": the CA at the top is self-issued and not asked about.
check('ocsp_chain', $_, @{ $wires[0] }) for qw(valid ocsp-revoked);
