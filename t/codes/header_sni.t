# 494 by the vhost that SNI chose, as nginx takes large_client_header_buffers
# and error_page 494 from the server block SNI chose: four name-based vhosts
# on one TLS port (codes_sni in extra.conf.in).  The SNI vhost's own lower
# limits apply (shop.test), to the byte as core applies them on a vhost of
# its own, and higher ones (big.test) not above the default vhost's; its
# 494 document answers and its access log records the 494.  A vhost without the
# directive keeps stock's behaviour, and Host still chooses the vhost that
# serves a request.  Over HTTP/1.1 and HTTP/2.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use SSLCodesTest;

plan tests => 39;

my $t = t_dir();
my $port = port('codes_sni');

# One request over TLS with SNI name SNI (none when undef); the server
# closes after its answer (Connection: close).
sub tls_get {
    my ($sni, $host, $extra) = @_;
    return parse_response(tls_until_close($port, $sni,
        "GET /ok.html HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n"
        . "$extra\r\n"));
}

sub field { "X-Big: " . ('a' x shift) . "\r\n" }
sub fields { join '', map { "X-F$_: v\r\n" } 1 .. shift }

my $mark = log_mark();
my $shop_log = "$t/logs/sni_shop_log";
my $shop_mark = -e $shop_log ? -s $shop_log : 0;

# shop.test lowers the limits below the default vhost's.
my $r = tls_get('shop.test', 'shop.test', field(600));
ok t_cmp($r->{status_line}, 'HTTP/1.1 494 Request Header Too Large',
         'SNI shop.test, a 600-byte field: 494');
ok t_cmp($r->{body}, 'shop 494', "shop.test's SSLCodesErrorDocument");
$r = tls_get('shop.test', 'shop.test', fields(12));
ok t_cmp($r->{status}, 494, 'SNI shop.test, 14 fields: 494');
$r = tls_get('shop.test', 'shop.test', field(100));
ok t_cmp($r->{status}, 200, 'SNI shop.test, a small field: 200');
ok t_cmp($r->{headers}{'x-vhost'}, 'shop', 'served by shop.test');

# To the byte: the longest field and the most fields that core accepts on
# a plain vhost of its own with the same limits (codes_off: 512 and 10)
# are accepted here, and one more is refused.
sub stock_max {
    my ($make, $from) = @_;
    for my $n ($from .. $from + 40) {
        my ($raw) = raw_request(port('codes_off'), "GET /ok.html HTTP/1.1\r\n"
            . "Host: localhost\r\nConnection: close\r\n" . $make->($n)
            . "\r\n");
        return $n - 1 if parse_response($raw)->{status} == 400;
    }
    return -1;
}
my $max_len = stock_max(\&field, 490);
my $max_n = stock_max(\&fields, 1);
ok t_cmp(($max_len > 490 && $max_n > 1) ? 1 : 0, 1,
         "stock's bounds found ($max_len, $max_n)");
ok t_cmp(tls_get('shop.test', 'shop.test', field($max_len))->{status}, 200,
         "shop.test: the longest field stock accepts: 200");
ok t_cmp(tls_get('shop.test', 'shop.test', field($max_len + 1))->{status},
         494, 'shop.test: one byte more: 494');
ok t_cmp(tls_get('shop.test', 'shop.test', fields($max_n))->{status}, 200,
         'shop.test: as many fields as stock accepts: 200');
ok t_cmp(tls_get('shop.test', 'shop.test', fields($max_n + 1))->{status},
         494, 'shop.test: one field more: 494');

# big.test says 16000, above the default vhost's 8190: over HTTP/1.x the
# header is read before Host is known, and a higher limit would hold for
# any vhost a client names in Host, so the default vhost's stays the
# ceiling.  big.test answers what goes over it.
$r = tls_get('big.test', 'big.test', field(8000));
ok t_cmp($r->{status}, 200, 'SNI big.test, an 8000-byte field: 200');
ok t_cmp($r->{headers}{'x-vhost'}, 'big', 'served by big.test');
$r = tls_get('big.test', 'big.test', field(9000));
ok t_cmp($r->{status}, 494, 'SNI big.test, 9000 bytes: over the ceiling, 494');
ok t_cmp($r->{body}, 'big 494', "big.test's document");
$r = tls_get('big.test', 'localhost', field(9000));
ok t_cmp($r->{status}, 494,
         'SNI big.test, Host localhost, 9000 bytes: not served either');
# big.test's LimitRequestFields 200 is no higher than the default's 100
# either, and the log line names the limit that was applied.
$r = tls_get('big.test', 'big.test', fields(110));
ok t_cmp($r->{status}, 494, 'SNI big.test, 112 fields: over 100, 494');

# The default vhost has 494 off: core's own answer, with its document.
$r = tls_get('localhost', 'localhost', field(600));
ok t_cmp($r->{status}, 200, 'SNI localhost, 600 bytes: 200');
$r = tls_get('localhost', 'localhost', field(9000));
ok t_cmp($r->{status}, 400, 'SNI localhost, 9000 bytes: stock 400');
ok t_cmp($r->{body}, 'sni default 400', "the default vhost's document");
# off.test has no SSLCodesHeaderTooLarge: as in stock, the header is read
# with the default vhost's limits and refused by the default vhost.
$r = tls_get('off.test', 'off.test', field(600));
ok t_cmp($r->{status}, 200, 'SNI off.test, 600 bytes: 200 (stock)');
$r = tls_get('off.test', 'off.test', field(9000));
ok t_cmp($r->{body}, 'sni default 400', 'SNI off.test, 9000 bytes: stock');
# No SNI: the default vhost.
$r = tls_get(undef, 'shop.test', field(600));
ok t_cmp($r->{status}, 200, 'no SNI, 600 bytes: the default vhost reads');

# Host still chooses the vhost that serves: SNI shop.test and a Host no
# vhost names gets the default vhost, as in stock.
$r = tls_get('shop.test', 'nowhere.test', field(100));
ok t_cmp($r->{headers}{'x-vhost'}, 'default',
         'SNI shop.test, Host nowhere.test: the default vhost serves');
$r = tls_get('shop.test', 'big.test', field(100));
ok t_cmp($r->{headers}{'x-vhost'}, 'big',
         'SNI shop.test, Host big.test: big.test serves');

# Two requests on one connection: each is read by the SNI vhost.
{
    my $out = tls_until_close($port, 'shop.test',
        "GET /ok.html HTTP/1.1\r\nHost: shop.test\r\n\r\n"
        . "GET /ok.html HTTP/1.1\r\nHost: shop.test\r\n" . field(600)
        . "\r\n");
    my @st = $out =~ m{^HTTP/1\.1 (\d{3})}mg;
    ok t_cmp("@st", '200 494', 'keep-alive: 200, then 494');
}

# The log lines and shop.test's own access log.
my $log = wait_log($mark, qr/SSLCODES0101.*too many header lines/);
ok t_cmp($log, qr/SSLCODES0101: client sent too long header line: "X-Big: a+\.\.\." \(vhost shop\.test:\d+, request "GET \/ok\.html HTTP\/1\.1"\): 494/,
         'the info line names shop.test');
ok t_cmp($log, qr/SSLCODES0101: client sent too many header lines \(LimitRequestFields 10\) \(vhost shop\.test/,
         "the info line names shop.test's LimitRequestFields");
ok t_cmp($log, qr/SSLCODES0101: .*\(vhost big\.test:\d+, request "GET \/ok\.html HTTP\/1\.1"\): 494/,
         'the info line names big.test');
ok t_cmp($log, qr/SSLCODES0101: client sent too many header lines \(LimitRequestFields 100\) \(vhost big\.test/,
         'the info line names the limit applied, not big.test\'s 200');
my $alog = '';
wait_for(sub {
    open my $fh, '<', $shop_log or return 0;
    seek $fh, $shop_mark, 0;
    $alog = do { local $/; <$fh> };
    my @all = $alog =~ / 494 /g;
    return @all >= 5;
});
my @n = $alog =~ /^shop\.test 494 494 GET \/ok\.html HTTP\/1\.1$/mg;
ok t_cmp(scalar @n, 5, "shop.test's access log: its five 494s");

# HTTP/2: mod_http2 reads a stream with the limits of the vhost that SNI
# chose; that vhost answers 494.
sub h2 {
    my ($name, $len) = @_;
    return curl('--http2', '-k', '--resolve', "$name:$port:127.0.0.1",
                '-H', 'X-Big: ' . ('a' x $len),
                "https://$name:$port/ok.html");
}
$r = h2('shop.test', 600);
ok t_cmp($r->{status_line}, qr{^HTTP/2 494}, 'HTTP/2, SNI shop.test: 494');
ok t_cmp($r->{body}, 'shop 494', "HTTP/2: shop.test's document");
$r = h2('shop.test', 100);
ok t_cmp($r->{status}, 200, 'HTTP/2, SNI shop.test, small: 200');
# mod_http2 itself reads a stream with the SNI vhost's limits, higher ones
# too (stock's behaviour).
$r = h2('big.test', 9000);
ok t_cmp($r->{status}, 200, 'HTTP/2, SNI big.test, 9000 bytes: 200');
$r = h2('big.test', 17000);
ok t_cmp($r->{body}, 'big 494', "HTTP/2, SNI big.test, 17000: big's 494");
$r = h2('localhost', 9000);
ok t_cmp($r->{status}, 431, 'HTTP/2, SNI localhost (off): stock 431');
$r = h2('off.test', 600);
ok t_cmp($r->{status}, 431, "HTTP/2, SNI off.test: mod_http2's own 431");
$log = wait_log($mark, qr/SSLCODES0101: client sent too large request headers \(vhost shop/);
ok t_cmp($log, qr/SSLCODES0101: client sent too large request headers \(vhost shop\.test:\d+, request "GET \/ok\.html HTTP\/2\.0"\): 494/,
         'HTTP/2: the info line names shop.test');

my @bad = bad_log_lines(log_since($mark));
ok t_cmp(scalar @bad, 0, 'no error or warn lines') or print "# @bad\n";
