# 499 over HTTP/2: the client resets one stream (RST_STREAM, CANCEL)
# before its answer; that stream is logged 499 and gets nothing, while
# another stream on the same connection is still served.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use SSLCodesTest;
use SSLCodesH2;

plan tests => 4;

my $port = port('codes_tls_close');

my $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
    SSL_hostname => 'localhost', SSL_verify_mode => SSL_VERIFY_NONE,
    SSL_alpn_protocols => ['h2']) or die "TLS: $SSL_ERROR";
ok t_cmp($sock->alpn_selected // '', 'h2', 'ALPN chose h2');

my $mark = access_mark();
my $started = slow_mark();
syswrite $sock, h2_preface();
# Stream 1: the slow CGI, reset once it runs: the stream's request has
# been read then, and its answer is still the CGI's two seconds away
# (SSLCodesTest's wait_slow_started; a fixed pause could reset the stream
# before a slow server had even started it).
syswrite $sock, h2_get(1, '/cgi/slow.cgi?h2reset');
wait_slow_started($started);
syswrite $sock, h2_frame(3, 0, 1, pack('N', 8));           # RST_STREAM CANCEL
# Stream 3 on the same connection is served.
syswrite $sock, h2_get(3, '/ok.html');
my $buf = '';
# HEADERS for stream 3; GUARD only bounds a server that never answers.
my $f = h2_wait_frame($sock, \$buf, 1, 3, GUARD);
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
