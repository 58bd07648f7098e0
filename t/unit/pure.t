# Build the unit tests of the pure parsers and run them; they print TAP.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use SSLCodesTest;

my $t = t_dir();
my $bin = "$t/logs/sslcodes_unit";
system('cc', '-std=gnu99', '-Wall', '-Wextra', '-Werror', "-I$t/../src",
       '-o', $bin, "$t/unit/unit.c", glob("$t/../src/sslcodes_parse_*.c")) == 0
    or do { print "1..1\nnot ok 1 - unit tests build\n"; exit 1 };
exec $bin or die "exec $bin: $!";
