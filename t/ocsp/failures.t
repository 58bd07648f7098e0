# OCSP fails closed: no responder to ask, a responder that is down, one
# slower than SSLOCSPResponderTimeout, one that answers badly (not OCSP,
# an HTTP error, a forged signature, a replayed answer) all give 495, each
# with an info line saying why.  no_ocsp_for_cert_ok lets a certificate
# without any responder through, and nothing else.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesOCSP;
use IO::Socket::INET;
use Time::HiRes qw(time);

my $P495 = '<html><body>The SSL certificate error</body></html>';
my $FAILED = '74:OCSP verification failed';

plan tests => 5 * 2 + 6 + 4 * 6 + 4 * 3 + 3 * 5 + 3;

my $t = t_dir();

# A request with CERT; checks 495 (or STATUS), the verify variables and
# the log line, and that nothing else was logged as an error.
sub fails {
    my ($name, $vhost, $cert, $line, @opt) = @_;
    my $port = port($vhost);
    my $mark = log_mark();
    my $r = curl(@opt, '--cert', "$t/pki/client-$cert.pem",
                 "https://localhost:$port/ok.html");
    my $log = wait_log($mark, qr/SSLCODES0101/);
    ok t_cmp("$r->{status} $r->{body}", "495 $P495", "$name: 495");
    ok t_cmp($r->{headers}{'x-client-verify'},
             'FAILED:' . (split /:/, $FAILED, 2)[1], "$name: SSL_CLIENT_VERIFY");
    ok t_cmp($r->{headers}{'x-verify-error'}, $FAILED,
             "$name: SSLCODES_VERIFY_ERROR");
    ok t_cmp($log, $line, "$name: logged why");
    ok t_cmp([bad_log_lines($log)], [], "$name: no error lines");
    return $r;
}

sub served {
    my ($name, $vhost, $cert, $verify) = @_;
    my $mark = log_mark();
    my @c = $cert ? ('--cert', "$t/pki/client-$cert.pem") : ();
    my $r = curl('--http1.1', @c, 'https://localhost:' . port($vhost)
                                  . '/ok.html');
    ok t_cmp("$r->{status} $r->{body}", "200 ok\n", "$name: served");
    ok t_cmp($r->{headers}{'x-client-verify'}, $verify,
             "$name: SSL_CLIENT_VERIFY $verify");
    ok t_cmp([bad_log_lines(log_since($mark))], [], "$name: no error lines");
}

# 1. Nothing listens on the responder's port.
my $busy = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 9991,
                                 Proto => 'tcp');
die "something listens on 127.0.0.1:9991" if $busy;
for my $w (['--http1.1', '--tls-max', '1.2'], ['--http2', '--tlsv1.3']) {
    fails("responder down, @$w", 'ocsp_down', 'valid',
          qr/\[sslcodes:info\].*SSLCODES0504: OCSP: responder http:\/\/127\.0\.0\.1:9991\/down unreachable \(cannot connect: Connection refused\) for client certificate \(depth 0, serial 1001, subject \/CN=client valid\)/,
          @$w);
}

# 2. A responder that accepts and never answers, past the 1 s timeout.
#    The handshake waits for it: not less than the timeout (the client's
#    clock starts first; less 0.1 s), and not the 10 s that the module
#    waits by default (SSLOCSPResponderTimeout unset), which no handshake
#    that waited it could beat: 8 s leaves 7 s for a slow handshake and
#    curl's start, and is still 2 s short of that default.
{
    my $hang = ocsp_responder(port => 9992, mode => 'hang');
    my $start = time;
    fails('responder never answers', 'ocsp_slow', 'valid',
          qr/\[sslcodes:info\].*SSLCODES0505: OCSP: responder http:\/\/127\.0\.0\.1:9992\/slow did not answer within 1000 ms for client certificate \(depth 0, serial 1001/,
          '--http1.1');
    my $took = time - $start;
    ok t_cmp($took >= 0.9 && $took < 8 ? 'bounded' : "took $took s", 'bounded',
             'responder never answers: the handshake waited about the timeout');
}

# 3. Bad answers; failures are not cached, so each one is asked again.
{
    my @bad = (
        ['garbage', 'not OCSP', qr/gave no usable answer for client certificate \(depth 0, serial 1001, subject \/CN=client valid\): HTTP exchange failed/],
        ['error', 'HTTP 500', qr/gave no usable answer .*: HTTP exchange failed/],
        ['rogue', 'signed by the untrusted CA\'s responder', qr/gave no usable answer .*: its signature does not verify/],
        ['replay', 'a replayed answer', qr/gave no usable answer .*: its nonce is not the request's/],
    );
    for my $b (@bad) {
        my ($mode, $what, $why) = @$b;
        my $resp = ocsp_responder(port => 9993, mode => $mode);
        fails("responder answers $what", 'ocsp_bad', 'valid',
              qr/\[sslcodes:info\].*SSLCODES0506: OCSP: responder http:\/\/127\.0\.0\.1:9993\/bad $why/,
              '--http1.1');
        ok t_cmp($resp->count, 1, "responder answers $what: it was asked");
        $resp->stop;
    }
}

# 4. The certificate's own responder (Authority Information Access).
{
    my $resp = ocsp_responder(port => 9990);
    served('AIA responder, good', 'ocsp_aia', 'ocsp-aia', 'SUCCESS');
    served('AIA vhost, no certificate (optional)', 'ocsp_aia', undef, 'NONE');
    fails('no responder anywhere', 'ocsp_aia', 'valid',
          qr/\[sslcodes:info\].*SSLCODES0503: OCSP: client certificate \(depth 0, serial 1001, subject \/CN=client valid\) cannot be checked: it names no OCSP responder and there is no SSLOCSPDefaultResponder/,
          '--http1.1');
    fails('AIA that cannot be asked', 'ocsp_aia', 'ocsp-badaia',
          qr/SSLCODES0503: OCSP: client certificate \(depth 0, serial 1008, subject \/CN=client ocsp badaia\) cannot be checked: its OCSP URL 'ldap:\/\/127\.0\.0\.1\/ocsp' is not an http:\/\/ URL/,
          '--http1.1');
    # 5. no_ocsp_for_cert_ok: only a certificate without any responder.
    served('no_ocsp_for_cert_ok, no responder', 'ocsp_nourl_ok', 'valid',
           'SUCCESS');
    served('no_ocsp_for_cert_ok, AIA responder, good', 'ocsp_nourl_ok',
           'ocsp-aia', 'SUCCESS');
    fails('no_ocsp_for_cert_ok, AIA that cannot be asked', 'ocsp_nourl_ok',
          'ocsp-badaia', qr/SSLCODES0503: .* cannot be checked: its OCSP URL/,
          '--http1.1');
}

# 6. A session whose OCSP check failed is not resumed.
{
    my $p = port('ocsp_down');
    my $req = "printf 'GET /ok.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'";
    my $sess = "$t/logs/ocsp-down.sess";
    unlink $sess;
    my $first = `$req | openssl s_client -connect 127.0.0.1:$p -servername localhost -CAfile $t/pki/ca.crt -ign_eof -tls1_2 -no_ticket -cert $t/pki/client-valid.pem -sess_out $sess 2>&1`;
    ok t_cmp($first, qr/^HTTP\/1\.1 495 /m, 'resumption: first connection 495');
    my $again = `$req | openssl s_client -connect 127.0.0.1:$p -servername localhost -CAfile $t/pki/ca.crt -ign_eof -tls1_2 -no_ticket -cert $t/pki/client-valid.pem -sess_in $sess 2>&1`;
    ok t_cmp($again =~ /^Reused,/m ? 'resumed' : 'full handshake',
             'full handshake', 'resumption: not resumed');
    ok t_cmp($again, qr/^HTTP\/1\.1 495 /m, 'resumption: 495 again');
}
