# 499 over HTTP/2: the client resets one stream (RST_STREAM, CANCEL)
# before its answer; that stream is logged 499 and gets nothing, while
# another stream on the same connection is still served.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use IO::Select;
use Time::HiRes qw(time sleep);
use SSLCodesTest;

plan tests => 4;

my $port = port('codes_tls_close');

# One HTTP/2 frame: length, type, flags, stream id, payload.
sub frame {
    my ($type, $flags, $stream, $payload) = @_;
    my $len = length $payload;
    return pack('CnCCN', $len >> 16, $len & 0xffff, $type, $flags, $stream)
         . $payload;
}

# A GET for PATH as an HPACK block: indexed :method GET and :scheme https,
# literal :path and :authority (literal without indexing, indexed names).
sub get_headers {
    my $path = shift;
    return "\x82\x87" . "\x04" . chr(length $path) . $path
         . "\x01" . chr(length 'localhost') . 'localhost';
}

# Read frames until one of TYPE arrives on STREAM or TIMEOUT passes.
sub wait_frame {
    my ($sock, $buf, $type, $stream, $timeout) = @_;
    my $end = time + $timeout;
    while (time < $end) {
        while (length $$buf >= 9) {
            my ($l1, $l2, $t, $f, $s) = unpack 'CnCCN', $$buf;
            my $len = ($l1 << 16) | $l2;
            last if length $$buf < 9 + $len;
            my $payload = substr $$buf, 9, $len;
            substr($$buf, 0, 9 + $len) = '';
            return [$t, $f, $s & 0x7fffffff, $payload]
                if $t == $type && ($s & 0x7fffffff) == $stream;
        }
        my $sel = IO::Select->new($sock);
        next unless $sock->pending || $sel->can_read(0.2);
        my $n = sysread $sock, my $chunk, 65536;
        return undef unless $n;
        $$buf .= $chunk;
    }
    return undef;
}

my $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
    SSL_hostname => 'localhost', SSL_verify_mode => SSL_VERIFY_NONE,
    SSL_alpn_protocols => ['h2']) or die "TLS: $SSL_ERROR";
ok t_cmp($sock->alpn_selected // '', 'h2', 'ALPN chose h2');

my $mark = access_mark();
syswrite $sock, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . frame(4, 0, 0, '');
# Stream 1: the slow CGI, reset after half a second.
syswrite $sock, frame(1, 0x5, 1, get_headers('/cgi/slow.cgi?h2reset'));
sleep 0.5;
syswrite $sock, frame(3, 0, 1, pack('N', 8));           # RST_STREAM CANCEL
# Stream 3 on the same connection is served.
syswrite $sock, frame(1, 0x5, 3, get_headers('/ok.html'));
my $buf = '';
my $f = wait_frame($sock, \$buf, 1, 3, 10);
ok t_cmp(defined $f ? 'answered' : 'none', 'answered',
         'stream 3 on the same connection is answered');
my $alog = wait_log($mark, qr/slow\.cgi\?h2reset.*\n/, 'access');
ok t_cmp($alog, qr/"GET \/cgi\/slow\.cgi\?h2reset HTTP\/2\.0" 499 499 /,
         'the reset stream is logged 499');
ok t_cmp($alog, qr/"GET \/ok\.html HTTP\/2\.0" 200 /,
         'the other stream is logged 200');
close $sock;
