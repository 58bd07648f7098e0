# Two TLS vhosts that share ServerName:port share mod_ssl's session id
# context, so a session verified by one resumes in the other.  Where they
# check client certificates differently, startup stops (SSLCODES0007);
# with names of their own, the same setup starts.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use SSLCodesTest;

plan tests => 5;

my $t = t_dir();
my $mods = '/usr/lib/apache2/modules';

sub free_port {
    for my $p (Apache::Test::vars('port') + 80 .. Apache::Test::vars('port') + 89) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                      Listen => 1, ReuseAddr => 1) or next;
        close $s;
        return $p;
    }
    die 'no free port';
}

# Start httpd with two name-based vhosts; NAMES are their ServerName lines.
sub start {
    my ($tag, @names) = @_;
    my $port = free_port();
    my $conf = "$t/logs/sessctx_$tag.conf";
    my $elog = "$t/logs/sessctx_${tag}_error_log";
    my $pidf = "$t/logs/sessctx_$tag.pid";
    unlink $elog, $pidf;
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"CONF";
ServerRoot $t
ServerName localhost
DefaultRuntimeDir $t/logs
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule ssl_module $mods/mod_ssl.so
LoadModule sslcodes_module $t/../.libs/mod_sslcodes.so
PidFile $pidf
ErrorLog $elog
LogLevel info
Listen 127.0.0.1:$port https
SSLRandomSeed startup builtin
SSLSessionCache "shmcb:$t/logs/sessctx_${tag}_scache(512000)"
SSLCertificateFile $t/pki/server.crt
SSLCertificateKeyFile $t/pki/server.key
<VirtualHost 127.0.0.1:$port>
    $names[0]
    ServerAlias x.test
    SSLEngine on
    SSLCodesVerifyClient on
    SSLCACertificateFile $t/pki/ca.crt
</VirtualHost>
<VirtualHost 127.0.0.1:$port>
    $names[1]
    ServerAlias y.test
    SSLEngine on
    SSLCodesVerifyClient on
    SSLCACertificateFile $t/pki/untrusted-ca.crt
</VirtualHost>
CONF
    close $fh;
    my $httpd = Apache::Test::vars('httpd');
    my $out = `$httpd -f $conf -k start 2>&1`;
    my $rc = $? >> 8;
    my $end = time + 5;
    sleep 0.1 until -s $pidf || time > $end;
    my $log = -e $elog ? do { open my $e, '<', $elog; local $/; <$e> } : '';
    if (-s $pidf) {
        open my $pf, '<', $pidf;
        chomp(my $pid = <$pf>);
        kill 'TERM', $pid;
        $end = time + 10;
        sleep 0.1 while kill(0, $pid) && time < $end;
    }
    return ($rc, "$out$log", -s $pidf ? 1 : 0);
}

# No ServerName of their own: both inherit localhost.
my ($rc, $log) = start('shared', '', '');
ok t_cmp($rc, 1, 'shared ServerName, different CAs: startup fails');
ok t_cmp($log, qr/SSLCODES0007: SSLCodesVerifyClient: virtual hosts defined at \S+:\d+ and \S+:\d+ share ServerName localhost:\d+, and so mod_ssl's TLS session id context, but check client certificates differently/,
         'the message names the directive, both vhosts and the name');
($rc, $log) = start('explicit', 'ServerName same.test', 'ServerName same.test');
ok t_cmp($rc, 1, 'the same explicit ServerName: startup fails too');
my $started;
($rc, $log, $started) = start('own', 'ServerName x.test', 'ServerName y.test');
ok t_cmp($rc, 0, "names of their own: httpd starts ($log)");
ok t_cmp($log =~ /SSLCODES0007/ ? 'refused' : 'quiet', 'quiet',
         'names of their own: no SSLCODES0007');
