# A real browser: Debian's headless Chromium, driven through chromedriver
# (WebDriver over HTTP on 127.0.0.1), against the "browser" vhost.
#   - http://localhost:PORT/ok.html?q=1 typed into the address bar lands on
#     https://localhost:PORT/ok.html?q=1 and shows the page (497 =301);
#   - /admin without a client certificate shows the 496 error document,
#     not a TLS error, over HTTP/2;
#   - the 497 page (a vhost without an error document), and the 494
#     document for a cookie too large.
# Each page's screenshot goes to t/logs/screenshots/ (and to
# $SSLCODES_SCREENSHOTS, when set, which is how docs/screenshots/ is made).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64;
use POSIX ();
use SSLCodesTest;

my $t = t_dir();
my $port = port('browser');
my $plain497 = port('tls_on');
my ($dport) = free_ports(1, 300, 320);
my $shots = "$t/logs/screenshots";
mkdir $shots;

plan tests => 17;

# chromedriver, started and stopped by its own pid.
my $driver = fork // die "fork: $!";
if (!$driver) {
    POSIX::setsid();
    open STDOUT, '>', "$t/logs/chromedriver.log";
    open STDERR, '>&', \*STDOUT;
    { exec '/usr/bin/chromedriver', "--port=$dport", '--allowed-ips=' };
    POSIX::_exit(127);
}
my $http = HTTP::Tiny->new(timeout => GUARD);
my $base = "http://127.0.0.1:$dport";
wait_for(sub { $http->get("$base/status")->{success} });

sub wd {
    my ($method, $path, $body) = @_;
    my $r = $http->request($method, "$base$path", $body
        ? { content => encode_json($body),
            headers => { 'Content-Type' => 'application/json' } }
        : {});
    my $v = eval { decode_json($r->{content})->{value} };
    die "WebDriver $method $path: $r->{status} $r->{content}"
        unless $r->{success};
    return $v;
}

my $session = wd(POST => '/session', { capabilities => { alwaysMatch => {
    browserName => 'chrome',
    acceptInsecureCerts => JSON::PP::true,
    'goog:chromeOptions' => {
        binary => '/usr/bin/chromium',
        args => ['--headless=new', '--no-sandbox', '--disable-gpu',
                 '--disable-dev-shm-usage', '--no-first-run',
                 '--no-proxy-server', '--window-size=640,160',
                 "--user-data-dir=$t/logs/chromium-profile",
                 # The module, not the browser, sends plain HTTP to https.
                 '--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable'],
    },
}}})->{sessionId};
my $s = "/session/$session";

sub visit {
    my ($url, $name) = @_;
    wd(POST => "$s/url", { url => $url });
    my $png = decode_base64(wd(GET => "$s/screenshot"));
    open my $fh, '>:raw', "$shots/$name.png" or die "$shots/$name.png: $!";
    print $fh $png;
    close $fh;
    if (my $dir = $ENV{SSLCODES_SCREENSHOTS}) {
        open my $out, '>:raw', "$dir/$name.png" or die "$dir/$name.png: $!";
        print $out $png;
    }
    return { url => wd(GET => "$s/url"), source => wd(GET => "$s/source"),
             png => $png };
}

my $amark = access_mark();

# Typed as plain HTTP on the TLS port: the same URL over https.
my $p = visit("http://localhost:$port/ok.html?q=1", 'redirect-497');
ok t_cmp($p->{url}, "https://localhost:$port/ok.html?q=1",
         'plain HTTP lands on the same URL over https');
ok t_cmp($p->{source}, qr/\bok\b/, '... and shows the page');
ok t_cmp(substr($p->{png}, 0, 8), "\x89PNG\r\n\x1a\n", '... screenshot taken');
my $alog = wait_log($amark, qr{"GET /ok\.html\?q=1 HTTP/2\.0" 200}, 'access');
ok t_cmp($alog, qr{"GET /ok\.html\?q=1 HTTP/1\.1" 301 497 },
         'the access log: the 301 for 497 (the module sent the browser)');
ok t_cmp($alog, qr{"GET /ok\.html\?q=1 HTTP/2\.0" 200 },
         '... then the page over HTTP/2');

# No client certificate: the 496 document, over HTTP/2, not a TLS error.
$amark = access_mark();
$p = visit("https://localhost:$port/admin/x.html", 'cert-496');
ok t_cmp($p->{url}, "https://localhost:$port/admin/x.html", '496: same URL');
ok t_cmp($p->{source}, qr/local cert page/, '496: the error document');
ok t_cmp($p->{source}, qr/^(?!.*ERR_)/s, '496: not a browser error page');
$alog = wait_log($amark, qr{/admin/x\.html}, 'access');
ok t_cmp($alog, qr{"GET /admin/x\.html HTTP/2\.0" 496 496 },
         '496 over HTTP/2 in the access log');
# The rest of the site is served on the same connection.
$p = visit("https://localhost:$port/ok.html", 'served-200');
ok t_cmp($p->{source}, qr/\bok\b/, 'outside /admin: served');

# The 497 page, where no error document is set.
$amark = access_mark();
$p = visit("http://localhost:$plain497/", 'page-497');
ok t_cmp($p->{source}, qr/The plain HTTP request was sent to HTTPS port/,
         'the 497 page');
ok t_cmp($p->{url}, "http://localhost:$plain497/", '497: no redirect');
$alog = wait_log($amark, qr{ 497 497 }, 'access');
ok t_cmp($alog, qr{"GET / HTTP/1\.1" 497 497 }, '497 in the access log');

# A cookie too large for LimitRequestFieldSize: the 494 document.
wd(POST => "$s/cookie", { cookie => { name => 'big',
                                      value => 'c' x 2000, path => '/' } });
$amark = access_mark();
$p = visit("https://localhost:$port/ok.html", 'header-494');
ok t_cmp($p->{source}, qr/local 494 document/, 'a cookie too large: 494');
$alog = wait_log($amark, qr{ 494 494 }, 'access');
ok t_cmp($alog, qr{"GET /ok\.html HTTP/2\.0" 494 494 },
         '494 over HTTP/2 in the access log');
wd(DELETE => "$s/cookie/big");
$p = visit("https://localhost:$port/ok.html", 'after-494');
ok t_cmp($p->{source}, qr/\bok\b/, 'without the cookie: served again');

wd(DELETE => $s);
kill 'TERM', $driver;
waitpid $driver, 0;
ok t_cmp(kill(0, $driver) ? 'running' : 'gone', 'gone',
         'chromedriver stopped by its pid');
