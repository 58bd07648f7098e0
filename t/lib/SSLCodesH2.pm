package SSLCodesH2;
# A raw HTTP/2 client's frames, for tests that reset one stream and keep
# the connection (t/codes/h2_reset.t, t/codes/backend_abort.t).
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Select;
use Time::HiRes qw(time);

our @EXPORT = qw(h2_frame h2_get h2_wait_frame h2_preface);

# One HTTP/2 frame: length, type, flags, stream id, payload.
sub h2_frame {
    my ($type, $flags, $stream, $payload) = @_;
    my $len = length $payload;
    return pack('CnCCN', $len >> 16, $len & 0xffff, $type, $flags, $stream)
         . $payload;
}

# The client preface and an empty SETTINGS frame.
sub h2_preface { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . h2_frame(4, 0, 0, '') }

# A HEADERS frame (END_STREAM, END_HEADERS) with a GET for PATH on STREAM,
# as an HPACK block: indexed :method GET and :scheme https, literal :path
# and :authority localhost (literal without indexing, indexed names).
sub h2_get {
    my ($stream, $path) = @_;
    my $block = "\x82\x87" . "\x04" . chr(length $path) . $path
              . "\x01" . chr(length 'localhost') . 'localhost';
    return h2_frame(1, 0x5, $stream, $block);
}

# Read frames from SOCK (into the buffer BUF) until one of TYPE arrives on
# STREAM, or TIMEOUT seconds pass.  Returns [type, flags, stream, payload],
# or undef.
sub h2_wait_frame {
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

1;
