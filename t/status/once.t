# One count per request.  With SSLCodesClientClosed on, a request that
# earned 497, 496, 495, 494 or 444 is counted (and logged) as that code,
# also when its client half-closes or closes right after sending it: the code was decided before a byte was written, and 499 is for what
# waits on a handler (t/codes/client_closed.t).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use IO::Socket::SSL;
use IO::Select;
use Time::HiRes qw(time);
use SSLCodesTest;

my $t = t_dir();
my $tls = port('codes_tls');
my $status = port('status');

my @codes = (
    ['497', sub { plain("GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n") }],
    ['496', sub { tls('', "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n") }],
    ['495', sub { tls('client-expired',
                      "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n") }],
    ['494', sub { tls('client-valid', "GET /x HTTP/1.1\r\nHost: localhost"
                      . "\r\nX-Big: " . ('a' x 2000) . "\r\n\r\n") }],
    ['444', sub { tls('client-valid', "GET /redirect444 HTTP/1.1\r\n"
                      . "Host: localhost\r\n\r\n") }],
);
# A reset is not among them: it discards what the server has not read
# yet, so whether the request is answered at all is a race.
my @leaves = ('half-close', 'close');

plan tests => @codes * @leaves * 2;

my $leave;          # how the client leaves, for plain() and tls()
# A server that closes at once (444) may meet a write still under way.
$SIG{PIPE} = "IGNORE";

sub go {
    my $s = shift;
    if ($leave eq 'close') {
        CORE::close($s);
        return;
    }
    # Half-closed: the client still reads, until the server closes.
    shutdown($s, 1);
    my ($sel, $end) = (IO::Select->new($s), time + GUARD);
    while ($sel->can_read($end - time)) {
        last unless sysread $s, my $buf, 65536;
    }
    CORE::close($s);
}

sub plain {
    my $req = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $tls)
        or die "connect: $!";
    syswrite $s, $req;
    go($s);
}

sub tls {
    my ($cert, $req) = @_;
    my $s = IO::Socket::SSL->new(
        PeerAddr => '127.0.0.1', PeerPort => $tls, SSL_hostname => 'localhost',
        # TLS 1.2: its handshake leaves nothing unread behind.  A TLS 1.3
        # server sends tickets after it, and a client that closes with
        # those unread resets the connection instead (see @leaves).
        SSL_version => 'TLSv1_2',
        SSL_ca_file => "$t/pki/ca.crt",
        $cert ? (SSL_cert_file => "$t/pki/$cert.pem",
                 SSL_key_file => "$t/pki/$cert.pem") : ())
        or die "TLS: $SSL_ERROR";
    syswrite $s, $req;
    # The TCP connection itself is closed, under TLS.
    go($s);
}

# HTTP/1.0: no chunked body, whose chunk sizes could split a line.
sub counts {
    my ($raw) = raw_request($status, "GET /server-status?auto HTTP/1.0\r\n"
                            . "Host: localhost\r\n\r\n");
    return { $raw =~ /^SSLCodes(\w+): (\d+)$/mg };
}

for my $c (@codes) {
    my ($code, $send) = @$c;
    for my $how (@leaves) {
        $leave = $how;
        my $before = counts();
        my $mark = log_mark();
        my $amark = access_mark();
        $send->();
        # Each answer writes one SSLCODES line once it is decided; wait
        # for it (GUARD bounds a server that never does).
        my $tag = $code eq '444' ? 'SSLCODES0202' : 'SSLCODES0101';
        wait_log($mark, qr/\Q$tag\E.*: $code$/m);
        # Then for its access log line, written when the request ends.
        my $line = wait_log($amark, qr/"GET \/(?:x|redirect444) HTTP\/1\.1" /,
                            'access');
        my $after = counts();
        my %d = map { $_ => ($after->{$_} // 0) - ($before->{$_} // 0) }
                $code, '499';
        ok t_cmp("$code:$d{$code} 499:$d{499}", "$code:1 499:0",
                 "$code, then the client leaves ($how): counted once, "
                 . "as $code");
        ok t_cmp($line, qr/"GET \/(?:x|redirect444) HTTP\/1\.1" $code /,
                 "$code ($how): the access log says $code");
    }
}
