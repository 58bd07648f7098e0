# Bad configuration stops startup with a message that names the directive.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $t = t_dir();
my $mods = '/usr/lib/apache2/modules';

my @bad = (
    ['SSLCodes maybe',                     qr/SSLCodes must be On or Off/],
    ['SSLCodes',                           qr/SSLCodes must be On or Off/],
    ['SSLCodesVerifyClient sometimes',
     qr/SSLCodesVerifyClient: unknown mode 'sometimes' \(expected off, on, optional or optional_no_ca\)/],
    ['SSLCodesWireStatus apache',
     qr/SSLCodesWireStatus: unknown value 'apache' \(expected native or nginx\)/],
    ['SSLCodesPeekTimeout 0',              qr/SSLCodesPeekTimeout: '0' is not a timeout/],
    ['SSLCodesPeekTimeout -3',             qr/SSLCodesPeekTimeout: '-3' is not a timeout/],
    ['SSLCodesPeekTimeout soon',           qr/SSLCodesPeekTimeout: 'soon' is not a timeout/],
    ['SSLCodesPeekTimeout 7200',           qr/SSLCodesPeekTimeout: '7200' is not a timeout/],
    ['SSLCodesErrorDocument 498 /x.html',
     qr/SSLCodesErrorDocument: '498': unknown code \(expected 494, 495, 496 or 497\)/],
    ['SSLCodesErrorDocument 404 /x.html',  qr/SSLCodesErrorDocument: '404': unknown code/],
    ['SSLCodesErrorDocument /x.html',
     qr/SSLCodesErrorDocument: '\/x.html': needs at least one code/],
    ['SSLCodesErrorDocument 497',          qr/SSLCodesErrorDocument: needs an action after the codes/],
    ['SSLCodesErrorDocument 497 =301',     qr/SSLCodesErrorDocument: needs an action after the codes/],
    ['SSLCodesErrorDocument 497 /a /b',
     qr/SSLCodesErrorDocument: '\/b': takes exactly one action after the codes/],
    ['SSLCodesErrorDocument 497 =999 /x',  qr/SSLCodesErrorDocument: '=999': bad =STATUS/],
    ['SSLCodesErrorDocument 497 =abc /x',  qr/SSLCodesErrorDocument: '=abc': bad =STATUS/],
    ['SSLCodesErrorDocument 497 =299 /x',
     qr/SSLCodesErrorDocument: '=299': httpd has no status line for this =STATUS/],
    ['SSLCodesErrorDocument 497 =301 "moved"',
     qr/SSLCodesErrorDocument: 'moved': =STATUS with a local URL, text or 'default' must be 2xx/],
    ['SSLCodesErrorDocument 497 =301 /local.html',
     qr/SSLCodesErrorDocument: '\/local.html': =STATUS with a local URL/],
    ['SSLCodesErrorDocument 497 =200 https://example.com/',
     qr/SSLCodesErrorDocument: 'https:\/\/example.com\/': a redirect takes =301, =302, =303, =307 or =308/],
    ['SSLCodesErrorDocument 496 https',
     qr/SSLCodesErrorDocument: 'https': 'https' applies to code 497 only/],
    ['SSLCodesErrorDocument 497 496 https', qr/'https' applies to code 497 only/],
    ['SSLCodesErrorDocument 497 "%{nosuchfunc:x}"',
     qr/SSLCodesErrorDocument: cannot parse expression '%\{nosuchfunc:x\}'/],
    ['SSLCodesErrorDocument 497 "https://%{SSLCODES_HOST"',
     qr/SSLCodesErrorDocument: cannot parse expression/],
    ["<Location />\nSSLCodes on\n</Location>",
     qr/SSLCodes not allowed in <Location> context/],
    ["<Directory />\nSSLCodesErrorDocument 497 default\n</Directory>",
     qr/SSLCodesErrorDocument not allowed in <Directory> context/],
    # Core refuses the code itself; that is why the module has a directive.
    ['ErrorDocument 497 /x.html',          qr/Unsupported HTTP response code 497/],
);

my @good = (
    'SSLCodes on', 'SSLCodes Off', 'SSLCodesVerifyClient optional_no_ca',
    'SSLCodesWireStatus nginx', 'SSLCodesPeekTimeout 500ms',
    'SSLCodesPeekTimeout 30',
    'SSLCodesErrorDocument 494 495 496 497 default',
    'SSLCodesErrorDocument 497 https',
    'SSLCodesErrorDocument 497 =308 https',
    'SSLCodesErrorDocument 497 =301 "https://%{SSLCODES_HOST}%{SSLCODES_REQUEST_URI}"',
    'SSLCodesErrorDocument 495 496 /errors/cert.html',
    'SSLCodesErrorDocument 496 =403 "no certificate"',
    'SSLCodesErrorDocument 497 "https"',
);

# LoadModule lines in another order: the module reads mod_ssl's and
# mod_reqtimeout's directives as they go by, so where it needs them it
# must come after them.  Caught by configtest, not only at startup.
my $ssl = "LoadModule ssl_module $mods/mod_ssl.so";
my $me = "LoadModule sslcodes_module $t/../.libs/mod_sslcodes.so";
my $rt = "LoadModule reqtimeout_module $mods/mod_reqtimeout.so";
my @order = (
    ["$me\n$ssl", 'SSLCodes on',
     qr/SSLCODES0004: SSLCodes needs "LoadModule sslcodes_module" to come after "LoadModule ssl_module"/],
    ["$me\n$ssl", 'SSLCodesVerifyClient on',
     qr/SSLCODES0004: SSLCodesVerifyClient needs "LoadModule sslcodes_module" to come after/],
    ["$ssl\n$me\n$rt", 'SSLCodes on',
     qr/SSLCODES0005: SSLCodes needs "LoadModule sslcodes_module" to come after "LoadModule reqtimeout_module"/],
);

plan tests => 2 * @bad + @good + 2 * @order + 3 + 2;

my $n = 0;
sub configtest {
    my ($line, $modules, $mode) = @_;
    $mode //= '-t';
    $modules //= "LoadModule ssl_module $mods/mod_ssl.so\n"
               . "LoadModule sslcodes_module $t/../.libs/mod_sslcodes.so";
    my $conf = "$t/logs/configtest." . $n++ . ".conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"CONF";
ServerRoot $t
ServerName localhost
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
$modules
PidFile $t/logs/configtest.pid
ErrorLog $t/logs/configtest_error_log
Listen 127.0.0.1:1
$line
CONF
    close $fh;
    my $httpd = Apache::Test::vars('httpd');
    my $out = `$httpd $mode -f $conf 2>&1`;
    return ($? >> 8, $out);
}

for my $case (@bad) {
    my ($line, $re) = @$case;
    (my $name = $line) =~ s/\n/ /g;
    my ($rc, $out) = configtest($line);
    ok t_cmp($rc, 1, "$name: startup fails");
    ok t_cmp($out, $re, "$name: message");
}
for my $line (@good) {
    my ($rc, $out) = configtest($line);
    ok t_cmp("$rc $out", qr/^0 Syntax OK/, "$line: accepted");
}
for my $case (@order) {
    my ($modules, $line, $re) = @$case;
    my ($rc, $out) = configtest($line, $modules);
    ok t_cmp($rc, 1, "load order, $line: configtest fails");
    ok t_cmp($out, $re, "load order, $line: message names the directive");
}
# mod_ssl's and mod_reqtimeout's directives, which the module reads and
# passes on, are refused as stock refuses them where their module is not
# loaded: they must not be taken silently.
for my $case (['SSLEngine on', "$me"], ['SSLVerifyDepth 2', "$me"],
              ['RequestReadTimeout handshake=5', "$ssl\n$me"]) {
    my ($line, $modules) = @$case;
    my ($rc, $out) = configtest($line, $modules);
    (my $name = $line) =~ s/ .*//;
    ok t_cmp("$rc $out", qr/^1 .*Invalid command '$name', perhaps misspelled or defined by a module not included in the server configuration/s,
             "$name without its module: refused as stock refuses it");
}
# Loaded in any order but not used: nothing to check, nothing refused.
my ($rc, $out) = configtest('SSLCodes off', "$me\n$ssl");
ok t_cmp("$rc $out", qr/^0 Syntax OK/, 'loaded before mod_ssl but off: accepted');
# A dump only shows the config: a load order that startup refuses does not
# make "httpd -M" fail.
($rc, $out) = configtest('SSLCodes on', "$me\n$ssl", '-M');
ok t_cmp("$rc $out", qr/^0 Loaded Modules:.*sslcodes_module/s,
         'httpd -M lists the modules whatever the load order');
