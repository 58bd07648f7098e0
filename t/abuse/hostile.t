# Hostile clients on the peek and the plain path.  After each, the server
# still answers TLS and plain requests, and no child died.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);
use SSLCodesTest;

my $on = port('tls_on');
my $peek = port('tls_peek');          # SSLCodesPeekTimeout 4
my $proxy = port('tls_proxy');        # RemoteIPProxyProtocol On

my @cases = (
    ['200 idle connections on the peek', \&idle_flood],
    ['first bytes at 1 byte per second', \&trickle],
    ['a PROXY v1 header trickling in', \&proxy_trickle],
    ['1000 connections of random bytes', \&random_bytes],
    ['a truncated TLS record', sub { send_close($on, "\x16\x03\x01\x02\x00\x01\x00") }],
    ['an SSLv2-format ClientHello', sub {
        send_close($on, "\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10"
                        . "\x07\x00\xc0" x 7 . "A" x 16) }],
    ['a PROXY v1 header alone', sub {
        send_close($proxy, "PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n") }],
    ['an oversized PROXY v1 header', sub {
        send_close($proxy, "PROXY TCP4 " . ("9" x 300) . "\r\nGET / HTTP/1.0\r\n\r\n") }],
    ['a PROXY v2 header with a bad length', sub {
        send_close($proxy, "\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff\x01\x02") }],
    ['the HTTP/2 preface in plain text', \&h2_preface],
    ['an over-long request line', \&long_line],
    ['an over-long header field', \&long_header],
    ['a 10 MB POST on the plain path', \&big_post],
);

plan tests => 3 * @cases + 3;

# Each case returns a list of [ok, name] checks of its own.
sub healthy {
    my $name = shift;
    my $c = curl('--http1.1', "https://localhost:$on/ok.html");
    ok t_cmp("$c->{status} $c->{body}", "200 ok\n", "$name: TLS still served");
    my $r = parse_response(scalar raw_request($on,
        "GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ok t_cmp($r->{status}, 497, "$name: plain still 497");
}

sub rst_close {
    my $s = shift;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
}

sub connect_to {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    $s->autoflush(1);
    return $s;
}

# Send BYTES, wait briefly for whatever comes back, then reset.  The wait
# is no synchronisation: nothing is checked of what came back, and some of
# these (the truncated record) are never answered; a slow server only
# meets the reset earlier.
sub send_close {
    my ($port, $bytes) = @_;
    my $s = connect_to($port);
    syswrite $s, $bytes;
    my $sel = IO::Select->new($s);
    my $got = '';
    if ($sel->can_read(2)) { sysread $s, $got, 4096 }
    rst_close($s);
    return [1, 'sent and reset'];
}

sub idle_flood {
    my @s = map { connect_to($peek) } 1 .. 200;
    # Every one is closed by the server after the 4 s peek timeout, once a
    # worker has taken it (200 are more than the workers that run at
    # first).  The guard is far above that and below tls_peek's Timeout
    # (60 s), which would close them if the peek timeout did not.
    my $end = time + 40;
    my $closed = 0;
    for my $s (@s) {
        my $sel = IO::Select->new($s);
        if ($sel->can_read($end - time > 0 ? $end - time : 0)) {
            my $n = sysread $s, my $buf, 1;
            $closed++ if defined $n && $n == 0;
        }
        close $s;
    }
    return [$closed == 200, "all 200 closed by the server ($closed)"];
}

# (The pauses of the trickles are the hostile input, not waits: the peek
# of tls_on and tls_proxy allows Timeout, 60 s.)
sub trickle {
    my $s = connect_to($on);
    for my $ch (split //, "GET /slow") {
        syswrite $s, $ch;
        sleep 1;
        last if $ch eq 'T';
    }
    rst_close($s);
    return [1, 'reset mid-request'];
}

sub proxy_trickle {
    my $s = connect_to($proxy);
    for my $ch (split //, "PROXY TCP4 192.0.2.9 127.0.0.1 1 2\r\n") {
        syswrite $s, $ch;
        sleep 0.05;
    }
    syswrite $s, "GET /trickled HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $out = do { local $/; <$s> } // '';
    close $s;
    return [parse_response($out)->{status} == 497, 'answered 497'];
}

sub random_bytes {
    my $answered = 0;
    for my $i (1 .. 1000) {
        my $s = connect_to($on);
        syswrite $s, join '', map { chr int rand 256 } 1 .. 1 + int rand 64;
        if ($i % 2) { rst_close($s) } else { close $s }
    }
    return [1, '1000 sent'];
}

sub h2_preface {
    my ($raw, $closed) = raw_request($on, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    my $r = parse_response($raw);
    return [($r->{status} == 497 || $r->{status} == 400
             || $r->{status} == 505) && $closed,
            "answered ($r->{status}) and closed"];
}

sub long_line {
    my ($raw, $closed) = raw_request($on,
        "GET /" . ('a' x 9000) . " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    my $r = parse_response($raw);
    return [$r->{status} == 414 && $closed, "core's 414 ($r->{status})"];
}

sub long_header {
    my ($raw, $closed) = raw_request($on,
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " . ('b' x 9000) . "\r\n\r\n");
    my $r = parse_response($raw);
    return [$r->{status} == 400 && $closed, "core's 400 ($r->{status})"];
}

# The 497 must come while the client still holds back the body: a server
# that waited for it would wait for tls_on's Timeout (60 s).  So the
# answer is awaited for BODY_WAIT, a guard far above the milliseconds it
# takes and far below that Timeout.
use constant BODY_WAIT => 30;
sub big_post {
    my $s = connect_to($on);
    my $t0 = time;
    syswrite $s, "POST /upload HTTP/1.1\r\nHost: localhost\r\n"
               . "Content-Length: 10485760\r\n\r\n" . ('x' x 65536);
    my $sel = IO::Select->new($s);
    my $got = '';
    my $end = $t0 + BODY_WAIT;
    while ($sel->can_read($end - time > 0 ? $end - time : 0)) {
        my $n = sysread $s, my $buf, 65536;
        last unless $n;
        $got .= $buf;
        last if $got =~ /\r\n\r\n.*<\/html>/s;
    }
    my $took = time - $t0;
    # The rest of the body goes to a server that only drains it.
    local $SIG{PIPE} = 'IGNORE';
    for (1 .. 160) { last unless defined syswrite $s, 'x' x 65536 }
    rst_close($s);
    return [parse_response($got)->{status} == 497 && $took < BODY_WAIT,
            sprintf('497 before the body was sent (%.2f s)', $took)];
}

my $mark = log_mark();
for my $c (@cases) {
    my ($name, $run) = @$c;
    my $res = $run->();
    ok t_cmp($res->[0] ? 1 : 0, 1, "$name: $res->[1]");
    healthy($name);
}
my $log = log_since($mark);
ok t_cmp($log !~ /exit signal|Segmentation|AH00052|AH00060/ ? 1 : 0, 1,
         'no child died');
# mod_remoteip rejects the hostile PROXY headers, as it should.
ok t_cmp([bad_log_lines($log, qr/AH10185: RemoteIPProxyProtocol header too long/,
                        qr/AH10186: RemoteIPProxyProtocol protocol header length too long/)],
         [], 'no unexpected error lines');
ok t_cmp(scalar(() = $log =~ /SSLCODES0101/g) > 0 ? 1 : 0, 1, 'events were logged');
