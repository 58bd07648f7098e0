# Why stock mod_ssl behind a load balancer resumes TLS tickets only about
# half the time while session ids (memcached) always resume, shown on two
# instances without the module, changing one setting at a time:
#
# 0. mod_ssl's session id context is the MD5 of the vhost's ServerName
#    and port; without a ServerName in the vhost, the port is the vhost
#    address's.  Instances on different ports then have different
#    contexts: nothing made on one resumes on the other, even with a
#    shared ticket key.
# 1. With one ServerName:port everywhere, session ids (memcached) resume on
#    both instances.  Tickets resume only on the instance that issued them:
#    without SSLSessionTicketKeyFile each instance encrypts tickets with
#    keys OpenSSL drew at random when mod_ssl made the SSL_CTX, in the
#    parent, so all children of an instance share them, and round robin
#    over two instances resumes every second attempt.
# 2. Those keys are drawn again at every restart, graceful included:
#    tickets issued before it no longer resume; session ids still do.
# 3. With a shared SSLSessionTicketKeyFile, tickets resume everywhere.
#
# The fleet tests' positive controls (t/fleet/resume.t) therefore give
# every instance the same ServerName:port and ticket key.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesFleet;

my @kinds = (['-tls1_2 -no_ticket', 'TLS 1.2 session id', 'id'],
             ['-tls1_2', 'TLS 1.2 ticket', 'ticket'],
             ['-tls1_3', 'TLS 1.3 ticket', 'ticket']);
my $rounds = 8;

plan tests => 1 + @kinds * 2 + 2 + @kinds * 5 + 1 + @kinds + 1 + @kinds * 2 + 1;

# Phase 0's configuration: a shared ticket key, no ServerName in the vhost.
for my $inst (qw(stock_a stock_b)) {
    write_instance($inst, ticket_key => 1, server_name => '');
}
my $err = fleet_start('memcached', 'stock_a', 'stock_b', 'haproxy:stock');
ok t_cmp($err, '', 'started: memcached, instances stock_a and stock_b '
         . '(module not loaded), HAProxy');
if ($err) { note $err; exit 1 }

my $dir = fleet_dir();
my %pin = (a => fleet_port('stock_pin_a'), b => fleet_port('stock_pin_b'));
my $rr = fleet_port('stock_rr');
my $n = 0;

sub outcome {
    my $r = shift;
    return ($r->{reused} ? 'Reused' : 'New') . " $r->{status} $r->{instance}";
}

# A new session made on stock_a; the file it is in.
sub session_on_a {
    my $args = shift;
    my $sess = "$dir/s" . $n++ . '.sess';
    my $r = s_client($pin{a}, "$args -sess_out $sess");
    die "no session from stock_a: $r->{out}" unless $r->{status} == 200;
    return $sess;
}

sub resume { my ($port, $args, $sess) = @_; s_client($port, "$args -sess_in $sess") }

# Rewrite both instances' configuration and restart them gracefully.
sub reconfigure {
    my ($name, %opt) = @_;
    my $e = '';
    for my $inst (qw(stock_a stock_b)) {
        write_instance($inst, %opt);
        $e ||= fleet_graceful($inst, 1);
    }
    ok t_cmp($e, '', $name);
}

# --- 0. Different session id contexts ------------------------------------
for my $k (@kinds) {
    my ($args, $kind) = @$k;
    my $sess = session_on_a($args);
    ok t_cmp(outcome(resume($pin{a}, $args, $sess)), 'Reused 200 stock_a',
             "0. no ServerName in the vhost: $kind resumes on its own "
             . 'instance');
    ok t_cmp(outcome(resume($pin{b}, $args, $sess)), 'New 200 stock_b',
             "0. no ServerName in the vhost: $kind not on the other (vhost "
             . 'ids localhost:' . fleet_port('stock_a') . ' and :'
             . fleet_port('stock_b') . ')');
}

# --- 1. Same context, per-instance ticket keys ---------------------------
reconfigure('1. both instances restarted with ServerName localhost:'
            . fleet_port('stock_rr'), ticket_key => 0);
my %before;
{
    my $sess = session_on_a('-tls1_2 -no_ticket');
    ok t_cmp(outcome(resume($pin{b}, '-tls1_2 -no_ticket', $sess)),
             'Reused 200 stock_b',
             '1. one ServerName:port: a session id made on a resumes on b');
}
for my $k (@kinds) {
    my ($args, $kind, $what) = @$k;
    my $sess = session_on_a($args);
    $before{$kind} = $sess;
    ok t_cmp(outcome(resume($pin{a}, $args, $sess)), 'Reused 200 stock_a',
             "1. $kind: resumes on the instance that made it");
    ok t_cmp(outcome(resume($pin{b}, $args, $sess)),
             $what eq 'id' ? 'Reused 200 stock_b' : 'New 200 stock_b',
             "1. $kind: " . ($what eq 'id' ? 'resumes on the other too'
                                           : 'not on the other'));

    # Round robin, as the issue saw it.
    my (@reused, @on_a);
    for (1 .. $rounds) {
        my $r = resume($rr, $args, $sess);
        push @reused, $r->{reused};
        push @on_a, $r->{instance} eq 'stock_a' ? 1 : 0;
    }
    my $got = grep { $_ } @reused;
    note "1. $kind, round robin: $got of $rounds resumed";
    ok t_cmp("@reused", $what eq 'id' ? join(' ', (1) x $rounds) : "@on_a",
             "1. $kind, round robin: " . ($what eq 'id'
             ? 'every attempt resumes' : 'exactly those that reach stock_a '
             . "resume ($got of $rounds)"));

    # All children of one instance share the keys, made before the fork:
    # try until two children have answered (at least $rounds times).
    my $mark = scalar(() = access_lines('stock_a'));
    my ($tries, $resumed, %pids) = (0, 0);
    while ($tries < $rounds || (keys %pids < 2 && $tries < 4 * $rounds)) {
        $resumed += resume($pin{a}, $args, $sess)->{reused};
        my $line = (access_lines('stock_a'))[$mark + $tries++] // '';
        $pids{$1} = 1 if $line =~ /^\S+ \S+ (\d+) "[^"]*" 200 Resumed /;
    }
    ok t_cmp("$resumed of $tries", "$tries of $tries",
             "1. $kind: every attempt on stock_a resumes");
    ok t_cmp(scalar(keys %pids) >= 2 ? 1 : 0, 1, "1. $kind: ... answered by "
             . scalar(keys %pids) . ' children (' . join(' ', sort keys %pids)
             . '), by the access log');
}

# --- 2. A restart draws new ticket keys ----------------------------------
{
    my $e = fleet_graceful('stock_a', 1);
    ok t_cmp($e, '', '2. graceful restart of stock_a');
    for my $k (@kinds) {
        my ($args, $kind, $what) = @$k;
        ok t_cmp(outcome(resume($pin{a}, $args, $before{$kind})),
                 $what eq 'id' ? 'Reused 200 stock_a' : 'New 200 stock_a',
                 "2. $kind made before the restart: "
                 . ($what eq 'id' ? 'still resumes (memcached)'
                                  : 'no longer resumes'));
    }
}

# --- 3. A shared ticket key ----------------------------------------------
reconfigure('3. both instances restarted with one SSLSessionTicketKeyFile',
            ticket_key => 1);
for my $k (@kinds) {
    my ($args, $kind) = @$k;
    my $sess = session_on_a($args);
    ok t_cmp(outcome(resume($pin{b}, $args, $sess)), 'Reused 200 stock_b',
             "3. shared ticket key: $kind made on a resumes on b");
    my $got = grep { $_ } map { resume($rr, $args, $sess)->{reused} } 1 .. $rounds;
    ok t_cmp($got, $rounds, "3. $kind, round robin: $got of $rounds resumed");
}
ok t_cmp([map { fleet_bad_log_lines($_) } qw(stock_a stock_b)], [],
         'no error or warn lines on stock_a or stock_b');
