# Instances going away under load.  A small mixed load (plain HTTP, TLS
# without, with an expired and with a valid certificate) runs through
# HAProxy's round robin while one instance restarts gracefully, and then
# while one is killed.
#
# - Graceful restart: nothing is lost beyond what the same load loses on
#   a pair without the module (stock_a, stock_b), and every answer is right.
# - Kill: HAProxy sends the rest to the other instance (health checks every
#   200 ms, and a refused connection is redispatched), and every answer is
#   right.  Only requests that the killed instance held at that moment may
#   go unanswered.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use POSIX ();
use Time::HiRes qw(sleep time);
use SSLCodesTest;
use SSLCodesFleet;

my $workers = 2;
# Every bound below is on events, not on the clock: the load runs until each
# worker has sent MIN_BEFORE requests, then the action runs, then each
# worker sends MIN_AFTER more that start after the action is over.  A slow
# machine (the sanitizer build, a second suite beside this one) only makes
# the run longer; it never changes what is asserted.
my $min_before = 10;
my $min_after = 10;

plan tests => 1 + 2 * 3 + 2 + 4 + 1;

my $err = fleet_start('memcached', 'a', 'b', 'stock_a', 'stock_b',
                      'haproxy:mod,stock');
ok t_cmp($err, '', 'started: memcached, a and b (module), stock_a and '
         . 'stock_b (not loaded), HAProxy');
if ($err) { note $err; exit 1 }

my $dir = fleet_dir();
my $target = '/load?x=1';
my @kinds = (
    ['plain', sub { plain_request(shift, $target) }],
    ['none', sub { tls_request(shift) }],
    ['expired', sub { tls_request(shift, cert => 'client-expired') }],
    ['valid', sub { tls_request(shift, cert => 'client-valid') }],
);

# The right answer for each kind, with and without the module.
sub right {
    my ($stock, $kind, $r, $port) = @_;
    my $s = $r->{status};
    if ($stock) {
        return $kind eq 'plain' ? $s == 400 : $s == 200;
    }
    return $kind eq 'plain'
        ? $s == 301 && ($r->{headers}{location} // '') eq
                       "https://localhost:$port$target"
        : $s == { none => 496, expired => 495, valid => 200 }->{$kind};
}

sub lines_in {
    my $file = shift;
    open my $in, '<', $file or return 0;
    my $n = () = <$in>;
    return $n;
}

# One load worker: requests in turn until MIN_AFTER of them started after
# the file $done_file appeared.  Each line: start time (from the epoch),
# whether it started after the action was over, kind, status, instance,
# right or wrong, error, end time.
sub worker {
    my ($w, $port, $stock, $done_file) = @_;
    open my $out, '>', "$dir/load.$w" or POSIX::_exit(1);
    $out->autoflush(1);
    # A connection the killed instance held is closed under a write: that
    # request is lost, and the worker goes on.
    $SIG{PIPE} = 'IGNORE';
    my ($i, $after, $end) = ($w, 0, time + GUARD);
    # GUARD only ends a load whose requests cannot be answered at all (the
    # fleet is not there): the assertions then say what was lost.
    while ($after < $min_after && time < $end) {
        my ($kind, $send) = @{ $kinds[$i++ % @kinds] };
        my $is_after = -e $done_file ? 1 : 0;
        my $t0 = time;
        my $r = eval { $send->($port) }
                // { status => 0, headers => {}, error => $@ || 'died' };
        $after += $is_after;
        printf $out "%.3f %d %s %d %s %s %s %.3f\n", $t0, $is_after, $kind,
            $r->{status}, $r->{headers}{'x-instance'} // '-',
            right($stock, $kind, $r, $port) ? 'right' : 'wrong',
            $r->{error} =~ s/\s+/_/gr || '-', time;
    }
    close $out;
    POSIX::_exit(0);
}

# Run the load through PORT and call ACTION once every worker has sent
# MIN_BEFORE requests.  Returns { total, lost, lost_after (started after
# ACTION was over), lost_before (the most lost by one worker among the
# requests it started before ACTION began), lost_early (lost, and over
# before ACTION began), wrong, a_after (answers from a
# or stock_a to requests started after ACTION was over), by => {instance
# => n}, lines }.
sub load {
    my ($port, $stock, $action) = @_;
    my $done_file = "$dir/load.done";
    unlink $done_file, map { "$dir/load.$_" } 1 .. $workers;
    my @pids;
    for my $w (1 .. $workers) {
        my $pid = fork // die "fork: $!";
        worker($w, $port, $stock, $done_file) if !$pid;
        push @pids, $pid;
    }
    # Waits for the workers' progress, which only they can make; each
    # request is bounded by its own client timeout (15 s), so this ends.
    while (grep { lines_in("$dir/load.$_") < $min_before } 1 .. $workers) {
        last if !grep { kill 0, $_ } @pids;
        sleep 0.05;
    }
    my $action_start = time;
    $action->();
    # A request started while the action ran may have gone to the instance
    # it stopped: "after" counts from when the action is over.
    open my $fh, '>', $done_file or die "$done_file: $!";
    close $fh;
    waitpid $_, 0 for @pids;
    my %s = (total => 0, lost => 0, lost_after => 0, lost_before => 0,
             lost_early => 0, wrong => 0, a_after => 0, by => {},
             lines => []);
    for my $w (1 .. $workers) {
        open my $in, '<', "$dir/load.$w" or die "load.$w: $!";
        my $before = 0;
        while (my $l = <$in>) {
            push @{ $s{lines} }, $l;
            my ($t0, $after, $kind, $status, $inst, $ok, $e, $t1)
                = split ' ', $l;
            $s{total}++;
            if ($status == 0) {
                $s{lost}++;
                $s{lost_after} += $after;
                $s{lost_early}++ if $t1 < $action_start;
                $before++ if $t0 < $action_start;
                next;
            }
            $s{wrong}++ if $ok ne 'right';
            $s{by}{$inst}++;
            $s{a_after} += $after if $inst =~ /^(?:stock_)?a$/;
        }
        $s{lost_before} = $before if $before > $s{lost_before};
    }
    return \%s;
}

sub summary {
    my ($name, $s) = @_;
    note sprintf "%s: %d requests, %d unanswered, %d wrong; answered by %s",
        $name, @$s{qw(total lost wrong)},
        join(', ', map { "$_ $s->{by}{$_}" } sort keys %{ $s->{by} });
    note map { "  unanswered: $_" } grep { / 0 - / } @{ $s->{lines} };
    note map { "  wrong: $_" } grep { / wrong / && !/ 0 - / } @{ $s->{lines} };
}

# --- Graceful restart, with and without the module ------------------------
my %g;
for my $pair (['mod', 'a', 'rr', 'pin_a'],
              ['stock', 'stock_a', 'stock_rr', 'stock_pin_a']) {
    my ($name, $inst, $front, $pin) = @$pair;
    my $gerr = '';
    my $s = load(fleet_port($front), $name eq 'stock',
                 sub { $gerr = fleet_graceful($inst, 0) });
    summary("graceful restart of $inst", $s);
    $g{$name} = $s;
    ok t_cmp($s->{total} >= $workers * ($min_before + $min_after) ? 1 : 0, 1,
             "graceful, $name: the load ran ($s->{total} requests)");
    ok t_cmp($s->{wrong}, 0, "graceful, $name: every answer right");
    my $e = $gerr || fleet_graceful_done($inst);
    my $r = tls_request(fleet_port($pin), cert => 'client-valid');
    ok t_cmp("$e$r->{status} " . ($r->{headers}{'x-instance'} // ''),
             "200 $inst", "graceful, $name: $inst restarted and serves again");
}
ok t_cmp($g{mod}{lost} <= $g{stock}{lost} ? 1 : 0, 1,
         "graceful: the module loses no more than stock ($g{mod}{lost} vs "
         . "$g{stock}{lost} unanswered)");
ok t_cmp($g{mod}{lost}, 0, 'graceful: nothing lost');

# --- Kill ----------------------------------------------------------------
my $k = load(fleet_port('rr'), 0, sub { fleet_kill('a') });
summary('a killed', $k);
ok t_cmp($k->{total} >= $workers * ($min_before + $min_after) ? 1 : 0, 1,
         "kill: the load ran ($k->{total} requests)");
ok t_cmp($k->{wrong}, 0, 'kill: every answer right');
# What a held when it was killed is lost: each worker's request in flight
# at that moment (at most one, since a worker waits for each answer), and
# any request that reached a's listening socket between the SIGKILL and
# the moment the dying process let go of it (the kernel still accepts
# there, and HAProxy, which has not yet failed two checks 200 ms apart,
# still sends there; once connected it cannot redispatch).  fleet_kill()
# returns only when nothing listens on a's port, so nothing sent after the
# kill is over may be lost.
ok t_cmp($k->{lost_before} <= 1 && !$k->{lost_early} && !$k->{lost_after}
         ? 1 : 0, 1,
         "kill: only what a held was lost ($k->{lost} unanswered; at most "
         . "one in flight per worker when the kill began: "
         . "$k->{lost_before}; none over before it: $k->{lost_early}; none "
         . "sent after it: $k->{lost_after})");
ok t_cmp(($k->{by}{b} // 0) > 0 && $k->{a_after} == 0 ? 1 : 0, 1,
         'kill: once the kill was over, b answered everything '
         . "($k->{a_after} answers from a)");
ok t_cmp([map { fleet_bad_log_lines($_) } qw(a b stock_a stock_b)], [],
         'no error or warn lines on any instance');
