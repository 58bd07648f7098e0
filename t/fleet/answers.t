# Behind a load balancer: HAProxy in TCP mode, PROXY v2 and v1, round robin
# over two instances that share TLS session state.  Every instance gives
# the same answers, the https redirect names the port the client connected
# to (HAProxy's), and the logs name the client, not HAProxy.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesFleet;

my $target = '/p/x?a=1&b=%41';
my @kinds = (
    ['plain HTTP', sub { plain_request(shift, $target) }],
    ['TLS, no certificate', sub { tls_request(shift) }],
    ['TLS, expired certificate', sub { tls_request(shift, cert => 'client-expired') }],
    ['TLS, valid certificate', sub { tls_request(shift, cert => 'client-valid') }],
);
my @fronts = (['rr', 'PROXY v2'], ['rr_v1', 'PROXY v1']);

plan tests => 1 + @fronts * @kinds * 3 + 2 * 3 + 1;

my $err = fleet_start('memcached', 'a', 'b', 'haproxy:mod');
ok t_cmp($err, '', 'the fleet started: memcached, instances a and b, HAProxy');
if ($err) { note $err; exit 1 }

sub expected {
    my ($kind, $port) = @_;
    return "301 https://localhost:$port$target" if $kind =~ /plain/;
    return '496 ' if $kind =~ /no cert/;
    return '495 ' if $kind =~ /expired/;
    return "200 \nok\n";
}

# What must not differ between instances: all but Date and X-Instance.
sub normal {
    my $r = shift;
    my %h = %{ $r->{headers} };
    delete @h{qw(date x-instance)};
    return join "\n", $r->{status_line},
        (map { "$_: $h{$_}" } sort keys %h), '', $r->{body};
}

for my $f (@fronts) {
    my ($front, $how) = @$f;
    my $port = fleet_port($front);
    for my $k (@kinds) {
        my ($kind, $send) = @$k;
        my $name = "$how, $kind";
        # Round robin: a few requests reach both instances.
        my (%by, @errors);
        for (1 .. 6) {
            my $r = $send->($port);
            push @errors, $r->{error} if $r->{error};
            $by{ $r->{headers}{'x-instance'} // '?' } //= $r;
            last if $by{a} && $by{b};
        }
        ok t_cmp(join(' ', sort keys %by) . (@errors ? " @errors" : ''),
                 'a b', "$name: both instances answered");
        my $r = $by{a} // $by{b} // { status => 0, headers => {}, body => '' };
        my $got = $kind =~ /plain/
            ? "$r->{status} " . ($r->{headers}{location} // '')
            : $kind =~ /valid/ ? "$r->{status} \n$r->{body}" : "$r->{status} ";
        ok t_cmp($got, expected($kind, $port),
                 "$name: the answer" . ($kind =~ /plain/
                                        ? " redirects to HAProxy's port" : ''));
        ok t_cmp(normal($by{b} // {status_line => 'none', headers => {}, body => ''}),
                 normal($by{a} // {status_line => 'none', headers => {}, body => ''}),
                 "$name: a and b answer alike");
    }
}

# The access logs name the client (%a) and HAProxy's side (%{c}a), which
# sends from 127.0.0.2; the module's log lines name the client.
for my $inst (qw(a b)) {
    my @lines = access_lines($inst);
    my @other = grep { !/^127\.0\.0\.1 127\.0\.0\.2 \d+ "/ } @lines;
    ok t_cmp(scalar(@lines) >= 8 && !@other ? 1 : 0, 1,
             "$inst: " . scalar(@lines) . " requests logged, each with client "
             . "127.0.0.1 via 127.0.0.2" . (@other ? ": @other" : ''));
    my $log = instance_log($inst, 'error_log');
    my @events = $log =~ /^.*SSLCODES0101.*$/mg;
    my @wrong = grep { !/\[client 127\.0\.0\.1:\d+\]/ } @events;
    ok t_cmp(scalar(@events) >= 6 && !@wrong ? 1 : 0, 1,
             "$inst: " . scalar(@events) . " SSLCODES0101 lines, each naming "
             . "client 127.0.0.1" . (@wrong ? ": @wrong" : ''));
    ok t_cmp([fleet_bad_log_lines($inst)], [], "$inst: no error or warn lines");
}
ok t_cmp(instance_log('a', 'access_log') . instance_log('b', 'access_log'),
         qr/^127\.0\.0\.1 127\.0\.0\.2 \d+ "GET \Q$target\E HTTP\/1\.1" 301 /m,
         'the 497 is logged with the real request');
