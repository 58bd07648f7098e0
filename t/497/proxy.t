# PROXY protocol v1 and v2 in front of TLS and of plain HTTP, whole or in
# separate TCP segments (RemoteIPProxyProtocol On).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use IO::Socket::SSL;
use Time::HiRes qw(sleep);
use SSLCodesTest;

plan tests => 33;

my $port = port('tls_proxy');

sub v1 { my $ip = shift; "PROXY TCP4 $ip 127.0.0.1 40000 $port\r\n" }
sub v2 {
    my $ip = shift;
    my $addr = pack('C4', split /\./, $ip) . pack('C4', 127, 0, 0, 1)
             . pack('nn', 40000, $port);
    return "\r\n\r\n\0\r\nQUIT\n" . pack('CCn', 0x21, 0x11, length $addr) . $addr;
}

# TLS after a PROXY header, the header alone in the first segment or not.
# (The 0.3 s pauses here and below only split the segments; they wait for
# nothing.  A server that reads late gets header and request in one read,
# which it must handle as well.)
sub tls_after {
    my ($header, $split) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port) or die $!;
    $sock->setsockopt(Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);
    syswrite $sock, $header;
    sleep 0.3 if $split;
    IO::Socket::SSL->start_SSL($sock, SSL_hostname => 'localhost',
        SSL_ca_file => t_dir() . '/pki/ca.crt', SSL_verify_mode => 1)
        or return "TLS failed: $SSL_ERROR";
    print $sock "GET /ok.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    my $out = do { local $/; <$sock> } // '';
    close $sock;
    return $out;
}

for my $v (['v1', \&v1], ['v2', \&v2]) {
    my ($name, $make) = @$v;
    for my $split (0, 1) {
        my $how = $split ? 'separate segment' : 'same segment';

        my $amark = access_mark();
        my $r = parse_response(tls_after($make->('192.0.2.10'), $split));
        ok t_cmp("$r->{status} $r->{body}", "200 ok\n", "$name + TLS, $how: 200");
        ok t_cmp(wait_log($amark, qr/ok\.html/, 'access'),
                 qr/^192\.0\.2\.10 "GET \/ok\.html HTTP\/1\.1" 200 /m,
                 "$name + TLS, $how: client address from the header");

        $amark = access_mark();
        my $req = "GET /plain?$name HTTP/1.1\r\nHost: localhost\r\n\r\n";
        my ($raw) = raw_request($port, $split
            ? [[$make->('192.0.2.20'), 0], [$req, 0.3]]
            : $make->('192.0.2.20') . $req);
        $r = parse_response($raw);
        ok t_cmp($r->{status}, 497, "$name + plain, $how: 497");
        ok t_cmp(wait_log($amark, qr/plain/, 'access'),
                 qr/^192\.0\.2\.20 "GET \/plain\?$name HTTP\/1\.1" 497 497 /m,
                 "$name + plain, $how: the real request and client");
    }
}

# Keep-alive behind a PROXY header.  The first-bytes filter has done its
# work once the handshake is over, and leaves the connection's chain as a
# request is made, never under a request that holds it (once, that hung
# the connection).  Every request on the connection is read and answered,
# and the filter leaves once.
{
    my $mark = log_mark();
    my $amark = access_mark();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port) or die $!;
    syswrite $sock, v1('192.0.2.40');
    IO::Socket::SSL->start_SSL($sock, SSL_hostname => 'localhost',
        SSL_ca_file => t_dir() . '/pki/ca.crt', SSL_verify_mode => 1)
        or die "TLS failed: $SSL_ERROR";
    my @got;
    for my $i (1 .. 3) {
        print $sock "GET /ok.html?ka=$i HTTP/1.1\r\nHost: localhost\r\n\r\n";
        my $head = '';
        while (defined(my $line = <$sock>)) {
            $head .= $line;
            last if $line eq "\r\n";
        }
        my $len = $head =~ /^Content-Length:\s*(\d+)/mi ? $1 : 0;
        my $body = '';
        read($sock, $body, $len) if $len;
        push @got, ($head =~ m{^HTTP/1\.1 (\d+)} ? $1 : 'none') . " $body";
    }
    close $sock;
    ok t_cmp(join('', @got), "200 ok\n" x 3,
             'PROXY + TLS keep-alive: three requests, three answers');
    my $acc = wait_log($amark, qr/ka=3/, 'access');
    my $n = () = $acc =~ /^192\.0\.2\.40 "GET \/ok\.html\?ka=\d HTTP\/1\.1" 200 /mg;
    ok t_cmp($n, 3, 'PROXY + TLS keep-alive: each logged with the client address');
    my $left = () = log_since($mark)
        =~ /first-bytes filter leaves the connection's chain/g;
    ok t_cmp($left, 1, 'PROXY + TLS keep-alive: the first-bytes filter '
             . 'leaves the chain once');
}

# curl's own PROXY v1 support, for a second opinion.
my $c = curl('--haproxy-protocol', '--http1.1', "https://localhost:$port/ok.html");
ok t_cmp($c->{status}, 200, 'curl --haproxy-protocol over TLS: 200');
$c = curl('--haproxy-protocol', "http://localhost:$port/x");
ok t_cmp($c->{status}, 497, 'curl --haproxy-protocol plain: 497');

# The https action names the port from the PROXY header's destination:
# the load balancer's, where the client connected.  None (v1 UNKNOWN, v2
# LOCAL) leaves this server's own port.  (mod_remoteip reads at least 16
# bytes of a v1 header, so the bare 15-byte "PROXY UNKNOWN" line fails
# there.)
my $https = port('tls_proxy_https');
sub v2dst {
    my ($fam, $src, $dst, $dport) = @_;
    my $addr = $src . $dst . pack('nn', 40000, $dport);
    return "\r\n\r\n\0\r\nQUIT\n" . pack('CCn', 0x21, $fam, length $addr) . $addr;
}
my @headers = (
    ['v1 TCP4', "PROXY TCP4 192.0.2.30 198.51.100.1 40000 8600\r\n", 8600],
    ['v1 TCP6', "PROXY TCP6 2001:db8::30 2001:db8::1 40000 443\r\n", ''],
    ['v1 UNKNOWN', "PROXY UNKNOWN 192.0.2.30 198.51.100.1 1 8600\r\n", ":$https"],
    ['v2 TCP4', v2dst(0x11, pack('C4', 192, 0, 2, 30), pack('C4', 198, 51, 100, 1), 8601), 8601],
    ['v2 TCP6', v2dst(0x21, "\x20\x01\x0d\xb8" . "\0" x 11 . "\x30",
                      "\x20\x01\x0d\xb8" . "\0" x 11 . "\x01", 8602), 8602],
    ['v2 LOCAL', "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", ":$https"],
);
for my $h (@headers) {
    my ($name, $header, $port) = @$h;
    $port = ":$port" if $port =~ /^\d/;
    my $req = "GET /a?b=c HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for my $split (0, 1) {
        my ($raw) = raw_request($https, $split ? [[$header, 0], [$req, 0.3]]
                                               : $header . $req);
        my $r = parse_response($raw);
        ok t_cmp("$r->{status} " . ($r->{headers}{location} // ''),
                 "301 https://localhost$port/a?b=c",
                 "$name, https action" . ($split ? ', separate segment' : '')
                 . ": the client's port");
    }
}
