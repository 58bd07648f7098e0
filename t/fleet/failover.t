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
my $secs = 3;
my $at = 1;         # the restart or kill, seconds into the load

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

# Run the load through PORT for $secs seconds and call ACTION $at seconds
# in.  Returns { total, lost, lost_after (sent after ACTION), wrong,
# late_a (answers from a a second after ACTION), by => {instance => n},
# when (of ACTION), lines }.
sub load {
    my ($port, $stock, $action) = @_;
    my $start = time + 0.2;
    my @pids;
    for my $w (1 .. $workers) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            open my $out, '>', "$dir/load.$w" or POSIX::_exit(1);
            my $i = $w;
            sleep $start - time if $start > time;
            while (time < $start + $secs) {
                my ($kind, $send) = @{ $kinds[$i++ % @kinds] };
                my $t0 = time - $start;
                my $r = $send->($port);
                printf $out "%.3f %s %d %s %s %s\n", $t0, $kind, $r->{status},
                    $r->{headers}{'x-instance'} // '-',
                    right($stock, $kind, $r, $port) ? 'right' : 'wrong',
                    $r->{error} =~ s/\s+/_/gr || '-';
            }
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    sleep $start + $at - time;
    my $when = time - $start;
    $action->();
    # A request started while the action ran may have gone to the instance
    # it stopped: "after" counts from when the action is over.
    my $done = time - $start;
    waitpid $_, 0 for @pids;
    my %s = (total => 0, lost => 0, lost_after => 0, wrong => 0,
             late_a => 0, by => {},
             when => $when, lines => []);
    for my $w (1 .. $workers) {
        open my $in, '<', "$dir/load.$w" or die "load.$w: $!";
        while (my $l = <$in>) {
            push @{ $s{lines} }, $l;
            my ($t0, $kind, $status, $inst, $ok, $e) = split ' ', $l;
            $s{total}++;
            if ($status == 0) {
                $s{lost}++;
                $s{lost_after}++ if $t0 > $done;
                next;
            }
            $s{wrong}++ if $ok ne 'right';
            $s{by}{$inst}++;
            $s{late_a}++ if $inst =~ /^(?:stock_)?a$/ && $t0 > $when + 1;
        }
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
    ok t_cmp($s->{total} >= 40 ? 1 : 0, 1,
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
ok t_cmp($k->{total} >= 40 ? 1 : 0, 1, "kill: the load ran ($k->{total} "
         . 'requests)');
ok t_cmp($k->{wrong}, 0, 'kill: every answer right');
ok t_cmp($k->{lost} <= $workers && !$k->{lost_after} ? 1 : 0, 1,
         "kill: only what a held at that moment was lost ($k->{lost} "
         . "unanswered, at most $workers, none sent after it)");
ok t_cmp(($k->{by}{b} // 0) > 0 && $k->{late_a} == 0 ? 1 : 0, 1,
         'kill: from a second after it on, b answered everything '
         . "($k->{late_a} answers from a)");
ok t_cmp([map { fleet_bad_log_lines($_) } qw(a b stock_a stock_b)], [],
         'no error or warn lines on any instance');
