# Pipelined, fragmented, late and idle clients on the plain path.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use Time::HiRes qw(time);
use SSLCodesTest;

plan tests => 14;

my $port = port('tls_on');
my $peek = port('tls_peek');     # SSLCodesPeekTimeout 4

# Two pipelined requests: the first is answered, the second never is.
{
    my $amark = access_mark();
    my ($raw, $closed) = raw_request($port,
        "GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n"
        . "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ok t_cmp(parse_responses($raw), 1, 'pipelined: one response');
    ok t_cmp(parse_response($raw)->{status}, 497, 'pipelined: 497');
    ok t_cmp($closed, 1, 'pipelined: closed after the first');
    my $access = wait_log($amark, qr/first/, 'access');
    ok t_cmp($access !~ /ok\.html/ ? 1 : 0, 1, 'pipelined: second never logged');
}

# One byte at a time, with pauses: classification waits without spinning.
{
    my $req = "POST /slow?x=1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nab";
    my @pieces = map { [$_, 0.02] } split //, $req;
    my $t0 = times;
    my ($raw) = raw_request($port, \@pieces);
    my $r = parse_response($raw);
    ok t_cmp($r->{status}, 497, 'byte at a time: 497');
    ok t_cmp($r->{body}, qr/plain HTTP request was sent/, 'byte at a time: body');
}

# The first byte after a delay shorter than the peek timeout: 1.2 s of
# the 4 s, so that a client that wakes up late still sends well within it
# (the delay is the test's input; only a late wake-up could spoil it).
{
    my ($raw) = raw_request($peek,
        [["GET /late HTTP/1.1\r\nHost: localhost\r\n\r\n", 1.2]]);
    ok t_cmp(parse_response($raw)->{status}, 497, 'late first byte: 497');
}

# A client that sends nothing is closed after the peek timeout, and no
# request is logged for it.  Not before it: the server's clock starts
# after the client's, so the lower bound is exact (less 0.2 s).  The upper
# bound is a guard: far above the 4 s for a slow machine, and far below
# the vhost's Timeout (60 s), which would close the connection if
# SSLCodesPeekTimeout did not; the client waits past the guard for that.
use constant IDLE_GUARD => 30;
{
    my $mark = log_mark();
    my $amark = access_mark();
    my $t0 = time;
    my ($raw, $closed) = raw_request($peek, '', timeout => IDLE_GUARD + 15);
    my $took = time - $t0;
    ok t_cmp($closed, 1, 'idle: closed by the server');
    ok t_cmp($raw, '', 'idle: nothing sent back');
    ok t_cmp($took >= 3.8 && $took < IDLE_GUARD ? 1 : 0, 1,
             sprintf('idle: closed after the 4 s peek timeout (%.1f s)', $took));
    my $log = wait_log($mark, qr/SSLCODES0002/);
    ok t_cmp($log, qr/\[sslcodes:info\].*SSLCODES0002: client sent nothing within SSLCodesPeekTimeout \(4000 ms\), closing/,
             'idle: logged at info');
    ok t_cmp(access_since($amark), '', 'idle: nothing in the access log');
}

# A slow TLS client (ClientHello split, first part late) still gets 200.
{
    my $c = curl('--http1.1', "https://localhost:$peek/ok.html");
    ok t_cmp($c->{status}, 200, 'TLS on the short-timeout vhost: 200');
    ok t_cmp($c->{body}, "ok\n", 'TLS on the short-timeout vhost: body');
}
