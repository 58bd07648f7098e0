# SSLCodesOCSPCache: the responder is asked once per certificate, not once
# per handshake, across the server's processes, over HTTP/1.1 and HTTP/2
# with TLS 1.2 and 1.3; a revoked answer stays revoked; answers expire with
# SSLOCSPResponseMaxAge, and one without nextUpdate is not kept.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(sleep time);
use SSLCodesTest;
use SSLCodesOCSP;

my @wires = (['--http1.1', '--tls-max', '1.2'], ['--http1.1', '--tlsv1.3'],
             ['--http2', '--tls-max', '1.2'], ['--http2', '--tlsv1.3']);

plan tests => 2 * (@wires * 2 + 1) + 3 + 6 + 4 + 5;

my $t = t_dir();

sub get {
    my ($vhost, $cert, @opt) = @_;
    return curl(@opt, '--cert', "$t/pki/client-$cert.pem",
                'https://localhost:' . port($vhost) . '/ok.html');
}

# 1. One question per certificate; every handshake is a full one (curl
#    keeps no sessions between runs), and lands on any of the processes.
my $resp = ocsp_responder(port => 9994);
for my $c (['valid', 200, 'SUCCESS'],
           ['ocsp-revoked', 495, 'FAILED:certificate revoked']) {
    my ($cert, $status, $verify) = @$c;
    my $before = $resp->count;
    my $mark = log_mark();
    for my $w (@wires) {
        my $r = get('ocsp_cache', $cert, @$w);
        ok t_cmp($r->{status}, $status, "$cert, @$w: $status");
        ok t_cmp($r->{headers}{'x-client-verify'}, $verify,
                 "$cert, @$w: $verify");
    }
    ok t_cmp($resp->count - $before, 1,
             "$cert: the responder was asked once for " . @wires
             . " handshakes");
}
{
    my $mark = log_mark();
    get('ocsp_cache', 'ocsp-revoked', '--http1.1');
    my $log = wait_log($mark, qr/SSLCODES0101/);
    ok t_cmp($log, qr/SSLCODES0501: OCSP: client certificate \(depth 0, serial 1006, subject \/CN=client ocsp revoked\) is revoked, reason keyCompromise, says http:\/\/127\.0\.0\.1:9994\/cache \(cached answer\)/,
             'a cached revoked answer is logged as such');
    $mark = log_mark();
    get('ocsp_cache', 'valid', '--http1.1');
    ok t_cmp(log_since($mark), qr/OCSP: client certificate good, says http:\/\/127\.0\.0\.1:9994\/cache \(cached answer\)/,
             'a cached good answer (trace)');
    ok t_cmp($resp->count, 2, 'still two questions in all');
}

# 2. SSLOCSPResponseMaxAge 8 bounds the cache, whatever nextUpdate says
#    (10 minutes ahead).  The answer's thisUpdate is when the responder
#    made it, during the first handshake; it is cached until thisUpdate +
#    8 s.  The second handshake comes right after the first, far within
#    that.  The third waits until the answer has certainly expired: 8 s
#    after the first handshake ended, which is after thisUpdate (a lower
#    bound, so a slow machine only makes the wait longer).
{
    my $before = $resp->count;
    my $r = get('ocsp_maxage', 'valid', '--http1.1');
    my $made = time;                    # after the answer was made
    ok t_cmp($r->{status}, 200, 'max age: first handshake 200');
    ok t_cmp($resp->count - $before, 1, 'max age: the responder was asked');
    $r = get('ocsp_maxage', 'valid', '--http1.1');
    ok t_cmp($r->{status}, 200, 'max age: second handshake 200');
    ok t_cmp($resp->count - $before, 1, 'max age: ... from the cache');
    my $left = $made + 8 - time;
    sleep $left if $left > 0;
    $r = get('ocsp_maxage', 'valid', '--http1.1');
    ok t_cmp($r->{status}, 200, 'max age: after 8 s, 200');
    ok t_cmp($resp->count - $before, 2, 'max age: ... asked again');
}

# 3. Without nextUpdate an answer is not kept (RFC 6960: newer
#    information is always available).
{
    my $nonext = ocsp_responder(port => 9995, nmin => 0);
    for my $n (1, 2) {
        my $r = get('ocsp_nonext', 'valid', '--http1.1');
        ok t_cmp($r->{status}, 200, "no nextUpdate: handshake $n 200");
        ok t_cmp($nonext->count, $n, "no nextUpdate: asked $n times");
    }
}

# 4. Across processes: prefork with one connection per child, so that each
#    handshake is made by another process (httpd on 127.0.0.1:9982).
{
    my $shared = ocsp_responder(port => 9996);
    my $h = throwaway_httpd('prefork', 9982,
        "SSLCodesVerifyClient on\n    SSLOCSPEnable leaf\n"
        . "    SSLOCSPDefaultResponder http://127.0.0.1:9996/prefork\n"
        . "    SSLOCSPOverrideResponder on\n"
        # A guard: the responder answers in milliseconds (see extra.conf.in).
        . "    SSLOCSPResponderTimeout 30",
        mpm => 'prefork',
        global => "MaxConnectionsPerChild 1\n"
                  . "SSLCodesOCSPCache \"shmcb:$t/logs/prefork/ocsp(128000)\"");
    ok t_cmp($h->{ok} ? 'started' : 'did not start', 'started',
             'prefork: the server starts');
    my @status;
    for my $n (1 .. 3) {
        push @status, curl('--http1.1', '--cert', "$t/pki/client-valid.pem",
                           'https://localhost:9982/ok.html')->{status};
    }
    ok t_cmp("@status", '200 200 200', 'prefork: three handshakes served');
    my %pids = map { $_ => 1 }
               $h->{log}->() =~ /\[pid (\d+)[^\]]*\].*OCSP: client certificate good/g;
    ok t_cmp(scalar(keys %pids), 3, 'prefork: by three processes');
    ok t_cmp($shared->count, 1, 'prefork: the responder was asked once');
    $h->{stop}->();
    ok t_cmp([bad_log_lines($h->{log}->(),
                            qr/AH00558|AH01882|caught SIGTERM, shutting down/)],
             [], 'prefork: no error lines');
}
