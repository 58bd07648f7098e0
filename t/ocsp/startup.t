# Where OCSP cannot be applied, the server does not start, and says which
# vhost and directive; SSLCodesOCSPCache is checked as it is read.  A
# server without a cache asks the responder on every handshake, and says
# so at startup.  A <Location> of the server config makes every vhost ask.
# Each case runs its own httpd on 127.0.0.1:9980.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesOCSP;

my $PORT = 9980;
my $t = t_dir();

my $OCSP = "SSLCodesVerifyClient on\n    SSLOCSPEnable leaf\n";
my @fail = (
    ['override without a default responder',
     "$OCSP    SSLOCSPOverrideResponder on", '',
     qr/SSLCODES0507: SSLOCSPOverrideResponder in vhost localhost:$PORT: 'on' needs SSLOCSPDefaultResponder; client certificates cannot be checked with OCSP there, so the server does not start/],
    ['mod_ssl\'s SSLVerifyClient as well',
     "$OCSP    SSLVerifyClient optional", '',
     qr/SSLCODES0507: SSLOCSPEnable in vhost localhost:$PORT: mod_ssl's SSLVerifyClient is set here as well/],
    ['default responder not http',
     "$OCSP    SSLOCSPDefaultResponder https://127.0.0.1:9990/", '',
     qr/SSLCODES0507: SSLOCSPDefaultResponder in vhost localhost:$PORT: 'https:\/\/127\.0\.0\.1:9990\/' is not an http:\/\/ URL/],
    ['proxy not http',
     "$OCSP    SSLOCSPProxyURL ftp://127.0.0.1:21/", '',
     qr/SSLCODES0507: SSLOCSPProxyURL in vhost localhost:$PORT: 'ftp:\/\/127\.0\.0\.1:21\/' is not an http:\/\/ URL/],
    ['OCSP on a vhost with only a <Location> asking',
     "SSLOCSPEnable on\n    SSLOCSPOverrideResponder on\n"
     . "    <Location /admin>\n        SSLCodesVerifyClient on\n"
     . "    </Location>", '',
     qr/SSLCODES0507: SSLOCSPOverrideResponder in vhost localhost:$PORT/],
    ['a <Location> without any CA',
     "<Location /admin>\n        SSLCodesVerifyClient on\n    </Location>",
     'SSLCACertificateFile none',
     qr/SSLCODES0003: SSLCodesVerifyClient in vhost localhost:$PORT: needs the CAs to accept/],
    ['SSLCodesVerifyClient with mod_ssl\'s "SSLVerifyClient require"',
     "SSLCodesVerifyClient on\n    SSLVerifyClient require", '',
     qr/SSLCODES0003: SSLCodesVerifyClient in vhost localhost:$PORT: cannot be combined with "SSLVerifyClient require"/],
    ['a vhost without any CA', 'SSLCodesVerifyClient optional',
     'SSLCACertificateFile none',
     qr/SSLCODES0003: SSLCodesVerifyClient in vhost localhost:$PORT: needs the CAs to accept/],
    ['an unreadable SSLOCSPResponderCertificateFile',
     "$OCSP    SSLOCSPResponderCertificateFile $t/htdocs/ok.html", '',
     qr/SSLCODES0507: SSLOCSPResponderCertificateFile in vhost localhost:$PORT: no certificate could be read from '\Q$t\E\/htdocs\/ok\.html'/],
    ['mod_ssl\'s "SSLVerifyClient on", which is require',
     "SSLCodesVerifyClient on\n    SSLVerifyClient on", '',
     qr/SSLCODES0003: SSLCodesVerifyClient in vhost localhost:$PORT: cannot be combined with "SSLVerifyClient require"/],
    ['SSLCodesOCSPCache in a vhost',
     'SSLCodesOCSPCache none', '',
     qr/SSLCodesOCSPCache cannot occur within <VirtualHost> section/],
    ['SSLCodesOCSPCache of an unknown type',
     '', 'SSLCodesOCSPCache memcache:127.0.0.1:11211',
     qr/SSLCodesOCSPCache: unknown cache type 'memcache' \(expected none, .*shmcb.*; is mod_socache_memcache loaded\?\)/],
    ['SSLCodesOCSPCache with a bad size',
     '', 'SSLCodesOCSPCache "shmcb:/tmp/x(100)"',
     qr/SSLCodesOCSPCache: .*size/i],
    ['SSLCodesOCSPCache in a <Location>',
     "<Location />\n        SSLCodesOCSPCache none\n    </Location>", '',
     qr/SSLCodesOCSPCache not allowed in <Location> context/],
);

plan tests => 4 * @fail + 2 + 1 + 7 + 8 + 7;

# Each refusal stops "httpd -t" (configtest, which Debian's apache2ctl runs
# before a graceful restart) with the same message, as well as startup.
my $httpd = Apache::Test::vars('httpd');
for my $f (@fail) {
    my ($name, $vhost, $global, $re) = @$f;
    my $ca = $global =~ s/^SSLCACertificateFile none$//m;
    my $h = throwaway_httpd('startup', $PORT, $vhost, global => $global,
                            no_ca => $ca);
    my $ok = $h->{ok};
    $h->{stop}->();
    ok t_cmp($ok ? 'started' : 'did not start', 'did not start',
             "$name: the server does not start");
    ok t_cmp($h->{log}->(), $re, "$name: the message says why");
    my $out = `$httpd -t -f $h->{dir}/httpd.conf 2>&1`;
    ok t_cmp($? >> 8, 1, "$name: configtest fails");
    ok t_cmp($out, $re, "$name: configtest says why");
}
{
    my $h = throwaway_httpd('startup', $PORT,
                            "$OCSP    SSLOCSPOverrideResponder on");
    $h->{stop}->();
    ok t_cmp($h->{log}->(), qr/\[sslcodes:emerg\].*SSLCODES0507/,
             'a startup refusal is logged at emerg');
}

# configtest agrees with startup: a vhost mod_ssl does not set up for TLS
# is not checked, and CA names from SSLOpenSSLConfCmd are no client-CA
# list for either.
for my $case (['SSLEngine off', "SSLEngine off\n    SSLCodesVerifyClient on",
               'SSLCACertificateFile none', 'started, configtest passed'],
              ['CAs from SSLOpenSSLConfCmd',
               "SSLCodesVerifyClient on\n    SSLOpenSSLConfCmd RequestCAFile $t/pki/ca.crt",
               'SSLCACertificateFile none',
               'did not start, configtest failed'],
              # mod_ssl reads "off" as none: no verify of its own.
              ['OCSP with mod_ssl\'s "SSLVerifyClient off"',
               "$OCSP    SSLVerifyClient off\n    SSLOCSPDefaultResponder http://127.0.0.1:9996/",
               '', 'started, configtest passed'],
              # shmcb takes anonymous shared memory first: its file's
              # directory does not matter.
              ['SSLCodesOCSPCache in a directory that does not exist',
               "$OCSP    SSLOCSPDefaultResponder http://127.0.0.1:9996/",
               "SSLCodesOCSPCache \"shmcb:$t/logs/no/such/dir/ocsp(512000)\"",
               'started, configtest passed']) {
    my ($name, $vhost, $global, $want) = @$case;
    my $ca = $global =~ s/^SSLCACertificateFile none$//m;
    my $h = throwaway_httpd('startup', $PORT, $vhost, global => $global,
                            no_ca => $ca);
    my $ok = $h->{ok};
    $h->{stop}->();
    my $out = `$httpd -t -f $h->{dir}/httpd.conf 2>&1`;
    ok t_cmp(($ok ? 'started' : 'did not start') . ', '
             . ($? >> 8 ? 'configtest failed' : 'configtest passed'),
             $want, "$name: configtest agrees with startup");
}
# A dbm cache in a directory that does not exist: socache_dbm cannot
# create its file at startup, and configtest says so first.
{
    my $h = throwaway_httpd('startup', $PORT,
        "$OCSP    SSLOCSPDefaultResponder http://127.0.0.1:9996/",
        modules => ['socache_dbm'],
        global => "SSLCodesOCSPCache dbm:$t/logs/no/such/dir/ocsp");
    my $ok = $h->{ok};
    $h->{stop}->();
    my $out = `$httpd -t -f $h->{dir}/httpd.conf 2>&1`;
    ok t_cmp(($ok ? 'started' : 'did not start') . ", $?: $out",
             qr/^did not start, 256: .*SSLCODES0508: SSLCodesOCSPCache: cannot set up 'dbm:\Q$t\E\/logs\/no\/such\/dir\/ocsp': no directory /s,
             'a dbm cache in no directory: startup and configtest refuse');
}

# TLS by "Listen ... https" and a certificate, without SSLEngine: checked.
{
    my $h = throwaway_httpd('startup', $PORT, '', no_vhost => 1, no_ca => 1,
        global => "Listen 127.0.0.1:$PORT https\n"
                  . "<VirtualHost 127.0.0.1:$PORT>\n"
                  . "    SSLCodesVerifyClient on\n</VirtualHost>");
    my $ok = $h->{ok};
    $h->{stop}->();
    my $out = `$httpd -t -f $h->{dir}/httpd.conf 2>&1`;
    ok t_cmp(($ok ? 'started' : 'did not start') . ", $?: $out",
             qr/^did not start, 256: .*SSLCODES0003: SSLCodesVerifyClient in vhost .*needs the CAs/s,
             'TLS by "Listen ... https": startup and configtest refuse');
}
{
    my $h = throwaway_httpd('startup', $PORT, "SSLCodesVerifyClient on");
    my $ok = $h->{ok};
    $h->{stop}->();
    my $out = `$httpd -t -f $h->{dir}/httpd.conf 2>&1`;
    ok t_cmp(($ok ? 'started' : 'did not start') . ", $?: $out",
             qr/^started, 0: Syntax OK/,
             'a good configuration: it starts and configtest passes');
}

# sslcodes_module loaded before ssl_module: SSLOCSPEnable would never be
# seen.
{
    my $h = throwaway_httpd('startup', $PORT, "$OCSP", module_first => 1);
    my $ok = $h->{ok};
    $h->{stop}->();
    ok t_cmp($ok ? 'started' : 'did not start', 'did not start',
             'loaded before mod_ssl: the server does not start');
    ok t_cmp($h->{log}->(), qr/SSLCODES0004: SSLCodesVerifyClient needs "LoadModule sslcodes_module" to come after "LoadModule ssl_module", to see SSLVerifyDepth, SSLCARevocationCheck, the SSLCA\* lines and the SSLOCSP\* settings/,
             'loaded before mod_ssl: the message says why');
}

# No SSLCodesOCSPCache: it starts, says so, and every handshake asks.
{
    my $resp = ocsp_responder(port => 9996);
    my $h = throwaway_httpd('nocache', $PORT,
        "$OCSP    SSLOCSPDefaultResponder http://127.0.0.1:9996/nocache\n"
        . "    SSLOCSPOverrideResponder on\n"
        # A guard: the responder answers in milliseconds (see extra.conf.in).
        . "    SSLOCSPResponderTimeout 30\n"
        . "    Header always set X-Client-Verify \"%{SSL_CLIENT_VERIFY}s\"");
    ok t_cmp($h->{ok} ? 'started' : 'did not start', 'started',
             'no cache: the server starts');
    ok t_cmp($h->{log}->(), qr/\[sslcodes:info\].*SSLCODES0509: OCSP answers about client certificates are not cached \(SSLCodesOCSPCache none\): every full handshake asks the responder/,
             'no cache: said at startup');
    for my $n (1, 2, 3) {
        my $r = curl('--http1.1', '--cert', "$t/pki/client-valid.pem",
                     "https://localhost:$PORT/ok.html");
        ok t_cmp("$r->{status} $r->{headers}{'x-client-verify'}",
                 '200 SUCCESS', "no cache: handshake $n served");
    }
    ok t_cmp($resp->count, 3, 'no cache: the responder was asked 3 times');
    my $r = curl('--http1.1', '--cert', "$t/pki/client-ocsp-revoked.pem",
                 "https://localhost:$PORT/ok.html");
    ok t_cmp($r->{status}, 495, 'no cache: revoked: 495');
    $h->{stop}->();
    ok t_cmp([bad_log_lines($h->{log}->(),
                            qr/AH00558|AH01882|caught SIGTERM, shutting down/)], [],
             'no cache: no error lines');
}

# A <Location> in the server config applies in every vhost: theirs ask.
{
    my $h = throwaway_httpd('global', $PORT,
        "Header always set X-Client-Verify \"%{SSL_CLIENT_VERIFY}s\"",
        global => "<Location /admin>\n    SSLCodesVerifyClient on\n"
                  . "</Location>");
    ok t_cmp($h->{ok} ? 'started' : 'did not start', 'started',
             'global <Location>: the server starts');
    my $r = curl('--http1.1', "https://localhost:$PORT/ok.html");
    ok t_cmp("$r->{status} $r->{headers}{'x-client-verify'}", '200 NONE',
             'global <Location>, no certificate, /: 200');
    $r = curl('--http1.1', "https://localhost:$PORT/admin/x.html");
    ok t_cmp($r->{status}, 496, 'global <Location>, no certificate, /admin: 496');
    $r = curl('--http1.1', '--cert', "$t/pki/client-valid.pem",
              "https://localhost:$PORT/admin/x.html");
    ok t_cmp("$r->{status} $r->{headers}{'x-client-verify'}", '200 SUCCESS',
             'global <Location>, valid, /admin: 200 (the vhost asked)');
    $r = curl('--http2', '--tlsv1.3', '--cert', "$t/pki/client-valid.pem",
              "https://localhost:$PORT/admin/x.html");
    ok t_cmp($r->{status}, 200, 'global <Location>, HTTP/2, TLS 1.3: 200');
    $r = curl('--http1.1', '--cert', "$t/pki/client-expired.pem",
              "https://localhost:$PORT/ok.html");
    ok t_cmp($r->{status}, 495, 'global <Location>, expired, /: 495');
    $h->{stop}->();
    ok t_cmp([bad_log_lines($h->{log}->(),
                            qr/AH00558|AH01882|caught SIGTERM, shutting down/)], [],
             'global <Location>: no error lines');
}
