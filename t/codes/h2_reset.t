# 499 over HTTP/2: the client resets one stream (RST_STREAM, CANCEL)
# before its answer; that stream is logged 499 and gets nothing, while
# another stream on the same connection is still served.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use IO::Select;
use Time::HiRes qw(time);
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
my $started = slow_mark();
syswrite $sock, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . frame(4, 0, 0, '');
# Stream 1: the slow CGI, reset once it runs: the stream's request has
# been read then, and its answer is still the CGI's two seconds away
# (SSLCodesTest's wait_slow_started; a fixed pause could reset the stream
# before a slow server had even started it).
syswrite $sock, frame(1, 0x5, 1, get_headers('/cgi/slow.cgi?h2reset'));
wait_slow_started($started);
syswrite $sock, frame(3, 0, 1, pack('N', 8));           # RST_STREAM CANCEL
# Stream 3 on the same connection is served.
syswrite $sock, frame(1, 0x5, 3, get_headers('/ok.html'));
my $buf = '';
# HEADERS for stream 3; GUARD only bounds a server that never answers.
my $f = wait_frame($sock, \$buf, 1, 3, GUARD);
ok t_cmp(defined $f ? 'answered' : 'none', 'answered',
         'stream 3 on the same connection is answered');
# Both streams' lines: each is written after its own answer.
my $alog = wait_log($mark, qr/\A(?=[\s\S]*slow\.cgi\?h2reset.*\n)(?=[\s\S]*ok\.html.*\n)/,
                    'access');
ok t_cmp($alog, qr/"GET \/cgi\/slow\.cgi\?h2reset HTTP\/2\.0" 499 499 /,
         'the reset stream is logged 499');
ok t_cmp($alog, qr/"GET \/ok\.html HTTP\/2\.0" 200 /,
         'the other stream is logged 200');
close $sock;
