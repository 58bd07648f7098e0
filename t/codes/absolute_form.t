# An absolute-form target on a plain connection to a TLS port names the
# virtual host, as in nginx, also with https:// (the port's scheme), and
# wins over Host.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 12;

my $port = port('tls_on');
my $mark = log_mark();

sub ask {
    my ($target, $host) = @_;
    my ($raw) = raw_request($port,
        "GET $target HTTP/1.1\r\nHost: $host\r\n\r\n");
    return parse_response($raw);
}

# a.test has SSLCodes on and sets X-Vhost; b.test has SSLCodes off.
for my $scheme (qw(https http)) {
    my $r = ask("$scheme://a.test/x?q=1", 'localhost');
    ok t_cmp($r->{status}, 497, "$scheme://a.test, Host localhost: 497");
    ok t_cmp($r->{headers}{'x-vhost'}, 'a.test',
             "$scheme://a.test, Host localhost: a.test answers");
}
my $r = ask("https://a.test:$port/x", 'localhost');
ok t_cmp($r->{headers}{'x-vhost'}, 'a.test', 'https://a.test:PORT: a.test');
$r = ask('https://b.test/x', 'a.test');
ok t_cmp($r->{status}, 400, 'https://b.test, Host a.test: b.test is off: 400');
ok t_cmp($r->{headers}{'x-vhost'}, undef, '... and a.test did not answer');
$r = ask('https://localhost/x', 'a.test');
ok t_cmp($r->{headers}{'x-vhost'}, undef, 'https://localhost, Host a.test: localhost');
ok t_cmp($r->{status}, 497, '... with 497');
$r = ask('/x', 'a.test');
ok t_cmp($r->{headers}{'x-vhost'}, 'a.test', 'origin-form: Host decides');

my $log = wait_log($mark, qr/SSLCODES0102/);
ok t_cmp($log, qr/SSLCODES0101: client sent plain HTTP request to HTTPS port \(vhost a\.test:$port, request "GET https:\/\/a\.test\/x\?q=1 HTTP\/1\.1"\): 497/,
         'the 497 line names a.test');
my @bad = bad_log_lines(log_since($mark));
ok t_cmp(scalar @bad, 0, 'no error or warn lines') or print "# @bad\n";
