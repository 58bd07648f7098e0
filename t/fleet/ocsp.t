# OCSP answers shared by the fleet through SSLCodesOCSPCache on memcached,
# then on Redis, and what a stalled or restarted store costs.
#
# For each store, instances a and b check client certificates with OCSP
# against one responder, whose answers are valid for 31 days (longer than
# memcached's 30-day limit for relative expiry times):
# - handshakes of one certificate on both instances ask the responder once;
# - a revoked answer cached by a is honoured by b, without asking;
# - the store stalled (SIGSTOP): every handshake still ends, with the right
#   answer, each within the store's wait plus the responder's; several at
#   once hold no worker; the info line says why the responder was asked;
# - the store resumed (SIGCONT), then restarted empty: answers stay right.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use POSIX ();
use Time::HiRes qw(time);
use SSLCodesTest;
use SSLCodesFleet;
use SSLCodesOCSP;

my @stores = (['memcache', 'memcached'], ['redis', 'redis']);
my $parallel = 6;

plan tests => @stores * (1 + 2 + 3 + 2 + $parallel + 2 + 3 + 1);

my $t = t_dir();

sub valid   { tls_request(fleet_port(shift), cert => 'client-valid') }
sub revoked { tls_request(fleet_port(shift), cert => 'client-ocsp-revoked') }

sub instance_log_since {
    my ($name, $from) = @_;
    my $log = instance_log($name, 'error_log');
    return substr($log, $from);
}

for my $s (@stores) {
    my ($store, $proc) = @$s;
    # mod_ssl's own session cache on memcache would hang on a stalled
    # memcached by itself (see the README): here each instance keeps its
    # sessions in shared memory, so what is measured is the OCSP store.
    write_instance($_, ocsp => $store,
                   session_cache => "shmcb:" . fleet_dir() . "/$_/scache(512000)")
        for qw(a b);
    my $resp = ocsp_responder(port => fleet_port('ocsp'), nmin => 31 * 24 * 60);
    my $err = fleet_start($proc, 'a', 'b', 'haproxy:mod');
    ok t_cmp($err, '', "$store: the fleet started");
    if ($err) { note $err; exit 1 }

    # 1. One question for the fleet.
    my @st = map { valid($_)->{status} } qw(pin_a pin_b pin_a pin_b);
    ok t_cmp("@st", '200 200 200 200', "$store: a valid certificate, on a "
             . 'and b in turn');
    ok t_cmp($resp->count, 1, "$store: the responder was asked once for "
             . 'the fleet (a 31-day answer kept)');

    # 2. Revoked on a, honoured by b from the store.
    my $before = $resp->count;
    ok t_cmp(revoked('pin_a')->{status}, 495, "$store: revoked on a: 495");
    ok t_cmp(revoked('pin_b')->{status}, 495, "$store: revoked on b: 495");
    ok t_cmp($resp->count - $before, 1, "$store: b took a's revoked answer "
             . 'from the store');

    # 3. The store stalled.  What is sure: each handshake ends, and right.
    #    Its time is the store's wait (500 ms) plus the responder's answer
    #    (milliseconds, at most SSLOCSPResponderTimeout 2 s); the guard
    #    below is far above that and far below "never", which is what a
    #    stalled store cost before.
    my $from_a = length instance_log('a', 'error_log');
    kill 'STOP', fleet_pid($proc);
    my $t0 = time;
    my $r = valid('pin_a');
    my $took = time - $t0;
    ok t_cmp("$r->{status} " . ($took < 20 ? 'ended' : "took $took s"),
             '200 ended', "$store stalled: a valid certificate is still "
             . 'checked, and the handshake ends');
    ok t_cmp(revoked('pin_a')->{status}, 495, "$store stalled: revoked: "
             . '495 (asked the responder)');
    my @kids;
    for my $i (1 .. $parallel) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $x = valid($i % 2 ? 'pin_a' : 'pin_b');
            POSIX::_exit($x->{status} == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }
    for my $pid (@kids) {
        waitpid $pid, 0;
        ok t_cmp($? >> 8, 0, "$store stalled: a handshake of $parallel at "
                 . 'once ends with 200');
    }
    my $log = instance_log_since('a', $from_a);
    ok t_cmp($log, qr/SSLCODES0513: SSLCodesOCSPCache: the \w+ store (?:did not answer within \d+ ms|is not answering); asking the responder/,
             "$store stalled: the info line says why the responder was "
             . 'asked');
    kill 'CONT', fleet_pid($proc);
    ok t_cmp(valid('pin_b')->{status}, 200, "$store resumed: 200");

    # 4. Restarted empty.
    fleet_stop($proc);
    $err = fleet_start($proc);
    ok t_cmp($err, '', "$store restarted");
    $before = $resp->count;
    ok t_cmp(valid('pin_a')->{status} . ' ' . revoked('pin_b')->{status},
             '200 495', "$store restarted empty: answers stay right");
    ok t_cmp($resp->count - $before >= 1 ? 'asked' : 'not asked', 'asked',
             "$store restarted empty: the responder was asked again");

    # httpd's providers log their own error when the store they talked to
    # went away (the restart above): those, and nothing else.
    ok t_cmp([map { fleet_bad_log_lines($_,
                        qr/AH0079[01]: scache_mc: |AH0347[89]: scache_rd: /) }
              qw(a b)], [],
             "$store: no other error or warn lines on a or b");
    $resp->stop;
    fleet_stop($_) for 'haproxy', 'b', 'a', $proc;
    unlink map { "$_/httpd.conf" } map { fleet_dir() . "/$_" } qw(a b);
}
