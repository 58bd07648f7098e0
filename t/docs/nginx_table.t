# Every row of the README's nginx -> Apache table ("From nginx"): the
# Apache lines it gives (its code spans with arguments, sections included)
# are put in a TLS <VirtualHost> and "httpd -t" must accept them.  A row
# whose Apache column has no such line must be one of the few that name
# variables or statuses, listed here; so a row cannot drop out unseen.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $t = t_dir();
my $top = "$t/..";
my $mods = '/usr/lib/apache2/modules';

open my $fh, '<', "$top/README.md" or die $!;
my $readme = do { local $/; <$fh> };
my ($table) = $readme =~ /^## From nginx\n(.*?)^## /ms
    or die 'no "From nginx" section';

# Rows whose Apache column names things rather than configuring them.
my %prose = map { $_ => 1 } ('`$ssl_client_verify`', '`$host`, `$request_uri`');

my @rows;
for my $line (split /\n/, $table) {
    next unless $line =~ /^\| (?!nginx \||---)/;
    $line =~ s/\\\|/\x00/g;                 # an escaped | inside a cell
    my (undef, $nginx, $apache) = split /\s*\|\s*/, $line;
    s/\x00/|/g for $nginx, $apache;
    my @spans = $apache =~ /`([^`]+)`/g;
    my @conf = grep { $_ =~ qr{^(?:</?)?[A-Z][A-Za-z]+(?:\s.*|>)\z} } @spans;
    # "a <VirtualHost *:80> with ...": the section around the lines.
    if (@conf && $conf[0] =~ /^<(\w+)/ && !grep { $_ eq "</$1>" } @conf) {
        push @conf, "</$1>";
    }
    push @rows, [$nginx, \@conf];
}

plan tests => 1 + @rows;
ok t_cmp(scalar(@rows) >= 30 ? 'found' : scalar(@rows), 'found',
         'the table has its rows');

my $n = 0;
for my $row (@rows) {
    my ($nginx, $conf) = @$row;
    if (!@$conf) {
        ok t_cmp($prose{$nginx} ? 'names only' : 'no Apache line',
                 'names only', "$nginx: no configuration to check");
        next;
    }
    my $body = join "\n", @$conf;
    $body =~ s{/var/run/apache2}{$t/logs}g;
    $body =~ s/^(SSLCACertificateFile) \S+/$1 $t\/pki\/ca.crt/mg;
    $body =~ s/^(SSLCARevocationFile) \S+/$1 $t\/pki\/ca.crl/mg;
    $body =~ s/^(SSLCertificateFile) \S+/$1 $t\/pki\/server.crt/mg;
    $body =~ s/^(SSLCertificateKeyFile) \S+/$1 $t\/pki\/server.key/mg;
    # Server-level lines go before the vhost.
    $body =~ s/<VirtualHost \*:80>/Listen 127.0.0.1:2\n<VirtualHost 127.0.0.1:2>/;
    $body =~ s/<VirtualHost \*:443>/<VirtualHost 127.0.0.1:1>/;
    my $server = $body =~ /^(?:SSLCodesOCSPCache|Listen|<VirtualHost)/
                 ? $body : '';
    my $vhost = $server ? '' : $body;
    my $file = "$t/logs/nginx_table." . $n++ . '.conf';
    open my $out, '>', $file or die "$file: $!";
    print $out <<"CONF";
ServerRoot $t
ServerName localhost
PidFile $t/logs/nginx_table.pid
ErrorLog $t/logs/nginx_table_error_log
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule alias_module $mods/mod_alias.so
LoadModule rewrite_module $mods/mod_rewrite.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule ssl_module $mods/mod_ssl.so
LoadModule sslcodes_module $top/.libs/mod_sslcodes.so
Listen 127.0.0.1:1 https
SSLCertificateFile $t/pki/server.crt
SSLCertificateKeyFile $t/pki/server.key
$server
<VirtualHost 127.0.0.1:1>
    SSLEngine on
    SSLCACertificateFile $t/pki/ca.crt
$vhost
</VirtualHost>
CONF
    close $out;
    my $httpd = Apache::Test::vars('httpd');
    my $got = `$httpd -t -f $file 2>&1`;
    ok t_cmp("$? $got", qr/^0 Syntax OK/, "$nginx: " . join(' ', @$conf));
}
