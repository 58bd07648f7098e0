# What a stalled store costs mod_ssl's own session cache (SSLSessionCache),
# measured, for the README's advice.  memcached, then Redis (with
# "RedisTimeout 1"), is stopped with SIGSTOP while a client makes a full
# handshake through HAProxy: httpd's providers wait for the store to answer,
# RedisTimeout notwithstanding, so the handshake is still waiting after
# 3 s (a lower bound: nothing answers for a stopped store), and ends,
# served, once the store resumes.  The module's own SSLCodesOCSPCache
# bounds the same stall (t/fleet/ocsp.t); for TLS sessions the README
# recommends tickets under a shared key with shmcb on each instance.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use POSIX ();
use Time::HiRes qw(time sleep);
use SSLCodesTest;
use SSLCodesFleet;

my @stores = (['memcache', 'memcached', 'memcached', ''],
              ['redis', 'redis', 'redis', 'RedisTimeout 1']);

plan tests => @stores * 4;

my $dir = fleet_dir();

# A handshake with a valid certificate through pin_a, in a child; it
# writes "STATUS SECONDS" to FILE when it ends.  HAProxy's own timeout
# (30 s) bounds it.
sub handshake_in_child {
    my $file = shift;
    unlink $file;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $t0 = time;
        my $r = curl('--http1.1', '--cert', t_dir() . '/pki/client-valid.pem',
                     'https://localhost:' . fleet_port('pin_a') . '/ok.html');
        open my $fh, '>', "$file.tmp" or POSIX::_exit(1);
        printf $fh "%d %.2f\n", $r->{status}, time - $t0;
        close $fh;
        rename "$file.tmp", $file;
        POSIX::_exit(0);
    }
    return $pid;
}

sub result {
    my $file = shift;
    open my $fh, '<', $file or return '';
    my $l = <$fh>;
    chomp $l;
    return $l;
}

for my $s (@stores) {
    my ($type, $port_name, $proc, $global) = @$s;
    unlink "$dir/a/httpd.conf";
    write_instance('a', session_cache => "$type:127.0.0.1:"
                   . fleet_port($port_name), global => $global);
    my $err = fleet_start($proc, 'a', 'haproxy:mod');
    ok t_cmp($err, '', "$type: the instance started");
    if ($err) { note $err; exit 1 }
    kill 'STOP', fleet_pid($proc);
    my $pid = handshake_in_child("$dir/$type.result");
    sleep 3;
    ok t_cmp(result("$dir/$type.result"), '', "SSLSessionCache $type, "
             . "store stalled: the handshake is still waiting after 3 s");
    kill 'CONT', fleet_pid($proc);
    waitpid $pid, 0;
    my ($status, $took) = split ' ', result("$dir/$type.result");
    note "SSLSessionCache $type: the handshake took $took s, for a store "
       . 'stopped 3 s';
    ok t_cmp($status, 200, "SSLSessionCache $type, store resumed: the "
             . 'handshake ends, served');
    ok t_cmp([fleet_bad_log_lines('a', qr/AH0079[01]: scache_mc: |AH0347[89]: scache_rd: /)],
             [], "$type: no other error or warn lines");
    fleet_stop($_) for 'haproxy', 'a', $proc;
}
