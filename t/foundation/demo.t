# "make -f Makefile.apxs demo": t/bin/demo starts its httpd and prints curl
# lines, each after a comment that starts with the status it shows.  Every
# line is run as printed (by sh, as a user would paste it) and must show
# that status; 444 must get no answer, and 499 must be in the access log.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use POSIX ();
use SSLCodesTest;

my $t = t_dir();
my $top = "$t/..";

# Three consecutive free ports.
my $base;
for my $from (270 .. 296) {
    my @p = eval { free_ports(3, $from, $from + 2) } or next;
    ($base = $p[0]), last if @p == 3 && $p[2] == $p[0] + 2;
}
die 'no three consecutive free ports' unless $base;

my $out = "$t/logs/demo.out";
my $pid = fork // die "fork: $!";
if (!$pid) {
    POSIX::setsid();
    open STDOUT, '>', $out;
    open STDERR, '>&', \*STDOUT;
    $ENV{SSLCODES_DEMO_PORT} = $base;
    # The suite's httpd: under SANITIZE=1 the module needs its runtime.
    $ENV{SSLCODES_DEMO_HTTPD} = Apache::Test::vars('httpd');
    { exec "$top/t/bin/demo" };
    POSIX::_exit(127);
}
# The demo execs httpd in the foreground: $pid is httpd's parent once the
# lines are printed.
my $up = wait_for(sub {
    return 0 unless -s $out && slurp($out) =~ /Ctrl-C stops the server/;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $base,
                                 Proto => 'tcp') ? 1 : 0;
});

sub slurp { open my $fh, '<', shift or return ''; local $/; <$fh> }

# (expected, command) for every curl line the demo printed.
my (@cases, $want);
for (split /\n/, slurp($out)) {
    $want = $1 if /^  # (\d{3}):/;
    push @cases, [$want, $1] if /^  (curl .*)$/;
}

plan tests => 2 + @cases + 1;

ok t_cmp($up, 1, 'the demo starts and prints its lines');
my %codes = map { $_->[0] => 1 } @cases;
ok t_cmp(join(' ', sort keys %codes), '200 301 444 494 495 496 497 499',
         'its lines show every code');

my $resolve = join ' ', map { "--resolve localhost:$_:127.0.0.1" }
                        $base .. $base + 2;
for my $c (@cases) {
    my ($code, $cmd) = @$c;
    my $got = `$cmd $resolve -sS 2>&1`;
    my $exit = $? >> 8;
    my ($status) = $got =~ m{^HTTP/[\d.]+ (\d{3})};
    my $short = substr($cmd, 0, 70);
    if ($code == 444) {
        ok t_cmp(($status // 'none') . ", curl exit " . ($exit ? 'non-zero' : 0),
                 'none, curl exit non-zero', "444, no answer: $short");
    }
    elsif ($code == 499) {
        ok t_cmp(($status // 'none') . ", curl exit $exit", 'none, curl exit 28',
                 "499, curl gave up: $short");
    }
    else {
        ok t_cmp($status, $code, "$code: $short");
    }
}
my $log = '';
wait_for(sub { ($log = slurp("$top/demo/logs/access_log")) =~ m{"GET /slow HTTP/[\d.]+" 499} });
ok t_cmp($log, qr{"GET /slow HTTP/[\d.]+" 499 499 }, 'the access log says 499');

kill 'TERM', $pid;
waitpid $pid, 0;
