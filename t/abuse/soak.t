# Soak: plain HTTP on the TLS port at full speed alongside TLS keep-alive
# traffic, with a graceful restart in the middle.  TLS sees no errors,
# every plain request gets its 497, and httpd's descriptors, threads and
# memory return to their starting level.  SSLCODES_SOAK_SECONDS (60).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $secs = $ENV{SSLCODES_SOAK_SECONDS} || 60;
my $on = port('tls_on');
my $status = port('status');
my $t = t_dir();

plan tests => 10;

sub note { print map { "# $_\n" } @_ }

sub httpd_pids {
    open my $fh, '<', "$t/logs/httpd.pid" or die "pid file: $!";
    chomp(my $parent = <$fh>);
    return ($parent, children($parent));
}

# Totals, and per process: the MPM may run a different number of children
# after the load than before it.
sub usage {
    my ($fds, $threads, $rss) = (0, 0, 0);
    my @pids = httpd_pids();
    for my $pid (@pids) {
        my @fd = glob "/proc/$pid/fd/*";
        $fds += @fd;
        open my $st, '<', "/proc/$pid/status" or next;
        while (<$st>) {
            $threads += $1 if /^Threads:\s+(\d+)/;
            $rss += $1 if /^VmRSS:\s+(\d+)/;
        }
    }
    my $n = @pids;
    return { procs => $n, fds => $fds, threads => $threads, rss => $rss,
             fds_p => $fds / $n, threads_p => $threads / $n,
             rss_p => $rss / $n };
}

# server-status?auto as { name => value }.
sub server_status {
    my ($raw) = raw_request($status, "GET /server-status?auto HTTP/1.0\r\n\r\n");
    my (undef, $body) = split /\r\n\r\n/, $raw, 2;
    return { ($body // '') =~ /^(\w+): (.*)$/mg };
}

# A graceful restart.  Returns the old generation's processes, for
# old_gone().
sub graceful {
    my ($parent, @old) = httpd_pids();
    kill 'USR1', $parent;
    return @old;
}

# The events that end a graceful restart (waited for, not slept on; GUARD
# each only bounds a restart that never completes): every process of the
# old generation has exited, and a child of the new one answers.
sub old_gone {
    my @old = @_;
    wait_for(sub { !grep { kill 0, $_ } @old });
}
sub new_generation {
    my $gen = shift;
    wait_for(sub { (server_status()->{ParentServerConfigGeneration} // -1) > $gen });
}

# No request is being served but server-status's own: every request that
# was read has been answered and logged.
sub quiet {
    wait_for(sub { (server_status()->{BusyWorkers} // 0) == 1 });
}

# wrk's --timeout is a guard (its default, 2 s, would count a request that
# a busy machine answers late as an error).
sub wrk_start {
    my ($dur, @args) = @_;
    open my $fh, '-|', 'wrk', '-t1', '-c8', "-d${dur}s", '--timeout', '30s',
        @args or die "wrk: $!";
    return $fh;
}

sub wrk_result {
    my $fh = shift;
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my ($reqs) = $out =~ /(\d+) requests in/;
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    my ($errors) = $out =~ /Socket errors: (.*)/;
    return { requests => $reqs // 0, non2xx => $non2xx // 0,
             errors => $errors // 'none', out => $out };
}

# Start from a fresh generation under the same kind of load, as the end
# will be (pools and malloc arenas keep what they once needed); measure
# once the warm-up is over.
my $gen = server_status()->{ParentServerConfigGeneration} // -1;
old_gone(graceful());
new_generation($gen);
my $warm = wrk_start(5, '-H', 'Connection: close', "http://127.0.0.1:$on/warm");
wrk_result(wrk_start(5, "https://localhost:$on/ok.html"));
wrk_result($warm);
quiet();
my $before = usage();
my $amark = access_mark();

# Plain requests for the whole run; TLS keep-alive in two halves, the
# second of which sees a graceful restart, once its traffic flows: more
# /ok.html answers logged than the first half could still have in flight
# (8 connections).
my $half = int($secs / 2);
my $plain = wrk_start($secs, '-H', 'Connection: close',
                      "http://127.0.0.1:$on/plain");
my $r_tls = wrk_result(wrk_start($half, "https://localhost:$on/ok.html"));
my $tmark = access_mark();
my $tls2 = wrk_start($secs - $half, "https://localhost:$on/ok.html");
wait_for(sub {
    (() = access_since($tmark) =~ /"GET \/ok\.html HTTP\/1\.1" 200 /g) > 50;
});
my @old = graceful();
my $r_tls2 = wrk_result($tls2);
my $r_plain = wrk_result($plain);

# Let the old generation finish and go, and every plain request that wrk
# counted reach the access log (written after the answer, so it may lag).
old_gone(@old);
quiet();
wait_for(sub {
    (() = access_since($amark) =~ /"GET \/plain HTTP\/1\.1" 497 497 /g)
        >= $r_plain->{requests};
});
# Descriptors, threads and memory: wait for them to come back (the last
# connections may still be closing), up to GUARD; one that leaks never
# does, and fails below.
my $after;
wait_for(sub {
    $after = usage();
    $after->{fds_p} <= $before->{fds_p} + 2
        && $after->{threads_p} <= $before->{threads_p} + 1
        && $after->{rss_p} <= $before->{rss_p} * 1.25;
});

note sprintf "TLS keep-alive: %d requests, socket errors: %s",
    $r_tls->{requests}, $r_tls->{errors};
note sprintf "TLS keep-alive across the graceful restart: %d requests, "
    . "socket errors: %s", $r_tls2->{requests}, $r_tls2->{errors};
note sprintf "plain: %d requests, %d answered non-2xx, socket errors: %s",
    $r_plain->{requests}, $r_plain->{non2xx}, $r_plain->{errors};
note sprintf "before: %d processes, %d fds, %d threads, %d KiB RSS",
    @$before{qw(procs fds threads rss)};
note sprintf "after:  %d processes, %d fds, %d threads, %d KiB RSS",
    @$after{qw(procs fds threads rss)};

ok t_cmp($r_tls->{requests} > 1000 ? 1 : 0, 1, 'TLS traffic flowed');
ok t_cmp($r_tls->{non2xx} + $r_tls2->{non2xx}, 0, 'TLS: no error responses');
# Stock httpd's event MPM closes a keep-alive connection now and then under
# this load, and always at a graceful restart; a request sent into that
# moment is lost, which wrk counts as a read error.  (The same is seen with
# the module off: TLS load on tls_off beside plain load on tls_off.)  So:
# no error responses, no connect, write or timeout errors, and read errors
# at most 1 in 10,000 requests (at least 16 allowed).
for my $r ([$r_tls, 'TLS'], [$r_tls2, 'TLS across the graceful restart']) {
    my ($res, $name) = @$r;
    my ($reads) = $res->{errors} =~ /^connect 0, read (\d+), write 0, timeout 0$/;
    $reads = 0 if $res->{errors} eq 'none';
    my $max = $res->{requests} / 10000 > 16 ? $res->{requests} / 10000 : 16;
    ok t_cmp(defined $reads && $reads <= $max ? 1 : 0, 1,
             "$name: only keep-alive closes ($res->{errors})");
}
ok t_cmp($r_plain->{requests} > 1000 ? 1 : 0, 1, 'plain traffic flowed');
ok t_cmp($r_plain->{non2xx}, $r_plain->{requests},
         'plain: every answer was an error status');
my $log = access_since($amark);
my $n497 = () = $log =~ /"GET \/plain HTTP\/1\.1" 497 497 /g;
my $n200 = () = $log =~ /"GET \/ok\.html HTTP\/1\.1" 200 /g;
# Not counted as something else: the test's own server-status requests
# (quiet()), and a warm-up request that wrk sent just before it stopped,
# which may be read and logged late, after the mark.
my $other = () = $log =~ /^(?!.*"GET \/plain HTTP\/1\.1" 497 497 )(?!.*"GET \/ok\.html HTTP\/1\.1" 200 )(?!.*"GET \/warm HTTP\/1\.1" 497 497 )(?!.*"GET \/server-status\?auto HTTP\/1\.0" 200 ).+$/mg;
note "access log: $n497 x 497, $n200 x 200, $other other";
ok t_cmp($n497 >= $r_plain->{requests} ? 1 : 0, 1,
         "every plain request logged as 497 ($n497)");
ok t_cmp($other, 0, 'nothing else in the access log');
ok t_cmp($after->{fds_p} <= $before->{fds_p} + 2 ? 1 : 0, 1,
         sprintf('descriptors per process back to the starting level '
                 . '(%.1f -> %.1f)', $before->{fds_p}, $after->{fds_p}));
ok t_cmp($after->{threads_p} <= $before->{threads_p} + 1
         && $after->{rss_p} <= $before->{rss_p} * 1.25 ? 1 : 0, 1,
         sprintf('threads and memory per process back (%.1f -> %.1f '
                 . 'threads, %.0f -> %.0f KiB)', $before->{threads_p},
                 $after->{threads_p}, $before->{rss_p}, $after->{rss_p}));
