# The other ways out of a fail-closed connection: the https action's
# Location for odd request targets, cleartext HTTP/2 on a TLS port, one
# bound for silent and trickling clients, trust across name-based vhosts,
# and what a failed verification gets in session tickets.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use Time::HiRes qw(time sleep);
use SSLCodesTest;

plan tests => 36;

my $t = t_dir();

# 4. The https action never leaves the vhost, whatever the target.
{
    my $port = port('docs_https');
    for my $line ("GET x.evil.test: HTTP/1.1", "CONNECT evil.test:443 HTTP/1.1",
                  "OPTIONS * HTTP/1.1", "GET http://evil.test?q=1 HTTP/1.1") {
        my $r = parse_response(scalar raw_request($port,
            "$line\r\nHost: https.test\r\n\r\n"));
        my $want = $line =~ /\?q=1/ ? "https://https.test:$port/?q=1"
                                    : "https://https.test:$port/";
        ok t_cmp("$r->{status} $r->{headers}{location}", "301 $want",
                 "4: '$line' stays on the vhost's authority");
    }
}

# 5. Cleartext HTTP/2 (prior knowledge) never starts on a TLS port, even
#    with h2c in Protocols; on a plain port that allows it, it does.
{
    # The connection preface and an empty SETTINGS frame.
    my $preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                . "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    my ($raw, $closed) = raw_request(port('fc_local'), $preface);
    # Core rejects "PRI * HTTP/2.0" as a request line (501 under
    # RegisteredMethods, else 400); no SETTINGS frame comes back.
    ok t_cmp(substr($raw, 0, 12), qr/^HTTP\/1\.1 (?:400|501)$/,
             '5: TLS port: an HTTP/1.1 error, no SETTINGS');
    ok t_cmp($closed, 1, '5: TLS port: the connection is closed');
    # HTTP/2 keeps the connection open: read until a whole frame header
    # is in (the server's SETTINGS comes first), not for a fixed time.
    ($raw) = raw_request(port('plain_h2c'), $preface,
                         until => sub { length $_[0] >= 9 });
    ok t_cmp(length($raw) >= 9 ? ord(substr($raw, 3, 1)) : -1, 4,
             '5: control: a plain h2c port answers with SETTINGS');
}

# 6. A failed verification gets no TLS 1.3 ticket; a TLS 1.2 ticket is
#    still sent (the ServerHello promised it before the certificate came),
#    but neither it nor the session id resumes.
sub s_client {
    my ($port, @args) = @_;
    my $cmd = join ' ', 'openssl s_client -connect', "127.0.0.1:$port",
        '-servername localhost -ign_eof -msg', @args;
    return scalar `printf 'GET /ok.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' | $cmd 2>&1`;
}
{
    my $on = port('cert_on');
    my $key = "-cert $t/pki/client-expired.crt -key $t/pki/client-expired.key";
    my $valid = "-cert $t/pki/client-valid.crt -key $t/pki/client-valid.key";
    my $out = s_client($on, '-tls1_3', $key);
    ok t_cmp($out, qr/HTTP\/1\.1 495/, '6: TLS 1.3 expired: 495');
    ok t_cmp($out =~ /NewSessionTicket/ ? 'ticket' : 'none', 'none',
             '6: TLS 1.3 expired: no session ticket');
    $out = s_client($on, '-tls1_3', $valid);
    ok t_cmp($out =~ /NewSessionTicket/ ? 'ticket' : 'none', 'ticket',
             '6: control: TLS 1.3 valid: a session ticket');
    my $sess = "$t/logs/tls12.sess";
    unlink $sess;
    $out = s_client($on, '-tls1_2', $key, "-sess_out $sess");
    ok t_cmp($out, qr/HTTP\/1\.1 495/, '6: TLS 1.2 expired: 495');
    $out = s_client($on, '-tls1_2', $key, "-sess_in $sess");
    ok t_cmp($out =~ /^Reused,/m ? 'reused' : 'new', 'new',
             '6: TLS 1.2 expired: the ticket does not resume');
}

# 7. A certificate checked against one vhost's CAs proves nothing to a
#    sibling with other client-CA lines: 421, from this module (its tag),
#    without SNI and with the first vhost's SNI.
{
    my $port = port('fc_trust');
    my $valid = "$t/pki/client-valid.pem";
    my @base = ('--cert', $valid, '-k');
    my $mark = log_mark();
    my $r = curl(@base, '-H', 'Host: other.test', "https://127.0.0.1:$port/ok.html");
    ok t_cmp($r->{status}, 421, '7: no SNI, Host of a vhost with other CAs: 421');
    ok t_cmp(wait_log($mark, qr/SSLCODES0106/), qr/SSLCODES0106: client certificate was checked by another virtual host/,
             '7: the module answered (SSLCODES0106)');
    $r = curl(@base, '-H', 'Host: other.test', "https://localhost:$port/ok.html");
    ok t_cmp($r->{status}, 421, '7: SNI localhost, Host other.test: 421');
    $r = curl(@base, "https://localhost:$port/ok.html");
    ok t_cmp($r->{status}, 200, '7: control: the checking vhost serves it');
    $r = curl(@base, '-H', 'Host: same.test', "https://127.0.0.1:$port/ok.html");
    ok t_cmp($r->{status}, 200, '7: control: a sibling with the same CA lines serves it');
    # (mod_ssl 2.4.64 and later answers such a request 421 by itself.)
    $mark = log_mark();
    $r = curl('-k', '-H', 'Host: other.test', "https://127.0.0.1:$port/ok.html");
    ok t_cmp(log_since($mark) =~ /SSLCODES0106/ ? 'objected' : 'silent', 'silent',
             '7: no certificate: nothing to misuse, the module does not object');
}

# 8. One bound for a silent or trickling client: the vhost's Timeout (3 s
#    here) from the first byte on, however it trickles; RequestReadTimeout
#    handshake= (2 s) when set.  Stock's TLS handshake gets the same.
#
#    The lower bounds stay as they were, below the timeouts: the server's
#    clock starts after the client's.  The upper one is a guard, BOUND:
#    far above the timeouts, so that a slow machine never reaches it, and
#    still far below every longer limit that could end the wait instead:
#    mod_reqtimeout's header=20 (20 s) on a plain request line, the
#    default Timeout (60 s) of fc_handshake, and for the trickles the
#    trickle itself (each piece comes well within Timeout, so without the
#    bound httpd would wait for all of it, 14 s and 12.5 s here, and then
#    Timeout more).
use constant BOUND => 10;
sub hold {
    my ($port, @pieces) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    my $t0 = time;
    my $closed = 0;
    for my $p (@pieces) {
        syswrite $s, $p or do { $closed = 1; last };
        sleep 0.5;
        my $sel = IO::Select->new($s);
        if ($sel->can_read(0)) {
            my $n = sysread $s, my $buf, 4096;
            if (!$n) { $closed = 1; last }
        }
    }
    unless ($closed) {
        # Until the server closes; past BOUND it has failed anyway.
        my $sel = IO::Select->new($s);
        while ($sel->can_read(2 * BOUND)) { my $n = sysread $s, my $b, 4096; last unless $n }
    }
    return time - $t0;
}
use IO::Select;
{
    my $mark = log_mark();
    my $took = hold(port('fc_timeout'), 'P');
    ok t_cmp($took > 2 && $took < BOUND ? 'bounded' : $took, 'bounded',
             "8: a lone 'P' is closed after Timeout (3 s; took $took)");
    $took = hold(port('fc_timeout'), split //, 'GET /trickle-trickle-trickle');
    ok t_cmp($took > 2 && $took < BOUND ? 'bounded' : $took, 'bounded',
             "8: a request line at 2 bytes a second is cut at 3 s (took $took)");
    ok t_cmp(wait_log($mark, qr/SSLCODES0006/),
             qr/SSLCODES0006: client sent no request line within 3000 ms of connecting/,
             '8: the cut is logged');
    # A TLS record header that announces 512 bytes, then the start of a
    # ClientHello, a byte each half second: 12.5 s of trickle.
    $took = hold(port('fc_timeout'), split //,
                 "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . "\x00" x 14);
    ok t_cmp($took > 2 && $took < BOUND ? 'bounded' : $took, 'bounded',
             "8: a TLS handshake that trickles is cut at 3 s too (took $took)");
    $took = hold(port('fc_handshake'), 'P');
    ok t_cmp($took > 1.2 && $took < BOUND ? 'bounded' : $took, 'bounded',
             "8: RequestReadTimeout handshake=2 bounds the wait (took $took)");
    # The bound ends with the handshake: an idle TLS connection (a
    # browser's preconnect) then waits under mod_reqtimeout's header=.
    # The pause is the test's input, not a wait for anything: it must only
    # be longer than handshake= (2 s), and a late wake-up makes it longer
    # still (header= would allow 20 s).
    my $tls = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
        PeerPort => port('fc_handshake'), SSL_verify_mode => SSL_VERIFY_NONE,
        SSL_hostname => 'localhost') or die "TLS: $SSL_ERROR";
    sleep 3;
    print $tls "GET /ok.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $idle = do { local $/; <$tls> } // '';
    ok t_cmp(substr($idle, 0, 15), 'HTTP/1.1 200 OK',
             '8: idle for longer than handshake= after the handshake: served');
    # The request line goes out at once (its end lifts the bound); the rest
    # 0.3 s later, far within the 3 s.
    my $r = parse_response(scalar raw_request(port('fc_timeout'),
        [["GET /ok.html HTTP/1.1\r\n", 0], ["Host: localhost\r\n\r\n", 0.3]]));
    ok t_cmp($r->{status}, 497, '8: a client within the bound gets its 497');
}

# 3 (and the rule): on a failed-certificate connection nothing says SUCCESS,
# also for a request that httpd rejects before any hook runs; a valid one
# still does.
{
    my $on = port('cert_on');
    my $amark = access_mark();
    for my $tls (['--tls-max', '1.2'], ['--tlsv1.3']) {
        my $r = curl('--http1.1', @$tls, '--cert', "$t/pki/client-expired.pem",
                     '-H', 'Expect: tea', "https://localhost:$on/ok.html");
        ok t_cmp($r->{status}, 417, "3: @$tls expired, bad Expect: core's 417");
        ok t_cmp($r->{headers}{'x-client-verify'} // '', qr/^(|FAILED:certificate has expired)$/,
                 "3: @$tls: response header is not SUCCESS");
    }
    my $log = wait_log($amark, qr/(?:.*417.*\n){2}/, 'access');
    ok t_cmp($log =~ /SUCCESS|GENEROUS/ ? 'laundered' : 'clean', 'clean',
             '3: the access log never says SUCCESS for them');
    my $r = curl('--http1.1', '--cert', "$t/pki/client-valid.pem",
                 "https://localhost:$on/ok.html");
    ok t_cmp($r->{status}, 200, '3: control: a valid certificate is served');
}

# A local SSLCodesErrorDocument that fails (SSLRequireSSL on a plain
# connection): the wire and the access log say the same status.
{
    my $amark = access_mark();
    my $r = parse_response(scalar raw_request(port('tls_requiressl'),
        "GET /logged?f3 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ok t_cmp($r->{status}, 497, 'failed document: 497 on the wire');
    ok t_cmp(wait_log($amark, qr/logged\?f3/, 'access'),
             qr/"GET \/logged\?f3 HTTP\/1\.1" 497 /,
             'failed document: the access log says 497 too');
}

# HTTP/2: a stream that mod_http2 rejects (a header over the limit) on a
# failed-certificate connection: no local document either.
{
    my $port = port('fc_local');
    my $m = -e "$t/logs/marks" ? -s "$t/logs/marks" : 0;
    my $r = curl('--http2', '--cert', "$t/pki/client-expired.pem",
                 '-H', 'X-Big: ' . ('a' x 600), "https://localhost:$port/m");
    ok t_cmp($r->{status}, qr/^(?:400|431|495)$/, "h2: rejected stream: $r->{status}");
    ok t_cmp($r->{body} =~ /HANDLER RAN/ ? 'ran' : 'not run', 'not run', 'h2: no handler');
    ok t_cmp(-e "$t/logs/marks" ? -s "$t/logs/marks" : 0, $m, 'h2: no mark');
}
