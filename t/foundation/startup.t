# The module's startup line, its exported symbols, and the promises the
# source makes to the README and to its own config code.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $top = t_dir() . '/..';
my @directives = qw(SSLCodes SSLCodesVerifyClient SSLCodesErrorDocument
                    SSLCodesWireStatus SSLCodesPeekTimeout
                    SSLCodesHeaderTooLarge SSLCodesClientClosed
                    SSLCodesOCSPCache);

sub slurp { open my $fh, '<', shift or die $!; local $/; <$fh> }

my $main = slurp("$top/mod_sslcodes.c");
my $config = slurp("$top/src/sslcodes_config.c");
my $priv = slurp("$top/src/sslcodes_private.h");
my $readme = slurp("$top/README.md");

# The merged fields of sslcodes_srv_conf: those before "Derived".
my ($struct) = $priv =~ /typedef struct \{\n((?:(?!typedef struct).)*?)\} sslcodes_srv_conf;/s;
my ($merged) = split /Derived at startup/, $struct;
my @fields = $merged =~ /^\s+[\w\s\*]+?\**(\w+)(?:\[\w+\])?;/mg;
my ($create) = $config =~ /sslcodes_create_srv\(.*?\n\}/s ? ($&) : ('');
my ($merge)  = $config =~ /sslcodes_merge_srv\(.*?\n\}/s ? ($&) : ('');

# The same for the per-directory config, sslcodes_dir_conf.
my ($dstruct) = $priv =~ /typedef struct \{\n((?:(?!typedef struct).)*?)\} sslcodes_dir_conf;/s;
my @dfields = ($dstruct // '') =~ /^\s+[\w\s\*]+?\**(\w+)(?:\[\w+\])?;/mg;
my ($dcreate) = $config =~ /sslcodes_create_dir\(.*?\n\}/s ? ($&) : ('');
my ($dmerge)  = $config =~ /sslcodes_merge_dir\(.*?\n\}/s ? ($&) : ('');

plan tests => 2 + @directives * 2 + @fields * 2 + 1 + @dfields * 2 + 1;

my $log = slurp(t_dir() . '/logs/error_log');
ok t_cmp($log, qr/\[sslcodes:info\].*SSLCODES0001: mod_sslcodes\/\d+\.\d+\.\d+ loaded \(httpd Apache\/2\.4\.\d+.*OpenSSL 3\./,
         'startup line names the version');

# (ASan adds an __odr_asan.* twin for each global in a SANITIZE=1 build.)
my @syms = grep { length && !/^__odr_asan\./ } map { (split ' ')[-1] }
           `nm -D --defined-only $top/.libs/mod_sslcodes.so`;
ok t_cmp("@syms", 'sslcodes_module', 'the module record is the only export');

for my $d (@directives) {
    ok t_cmp($main =~ /AP_INIT_\w+\("\Q$d\E"/ ? 1 : 0, 1, "$d is registered");
    ok t_cmp($readme =~ /^#+ `?\Q$d\E`?\s*$/m ? 1 : 0, 1,
             "$d has a README section");
}
ok t_cmp(scalar(@fields) >= 5 ? 1 : 0, 1, 'found the config fields');
for my $f (@fields) {
    ok t_cmp($create =~ /->\Q$f\E\b|\Q$f\E: NULL/ ? 1 : 0, 1, "$f set in create");
    ok t_cmp($merge =~ /\b\Q$f\E\b/ ? 1 : 0, 1, "$f merged");
}
ok t_cmp(scalar(@dfields) >= 1 ? 1 : 0, 1, 'found the per-directory fields');
for my $f (@dfields) {
    ok t_cmp($dcreate =~ /->\Q$f\E\b|\Q$f\E: NULL/ ? 1 : 0, 1,
             "per-directory $f set in create");
    ok t_cmp($dmerge =~ /\b\Q$f\E\b/ ? 1 : 0, 1, "per-directory $f merged");
}
