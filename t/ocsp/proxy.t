# The responder's connection: through SSLOCSPProxyURL (the request line
# then carries the absolute URL, and the responder's own name is never
# looked up), and to a responder named by a host name.  Each case runs its
# own httpd on 127.0.0.1:9981.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesOCSP;

my $PORT = 9981;
my $t = t_dir();

plan tests => 2 * 4;

# The "proxy" is the responder itself: it answers whatever URL it is
# asked for, and notes the request line.
for my $c (['through SSLOCSPProxyURL',
            "SSLOCSPDefaultResponder http://ocsp.invalid/proxied\n"
            . "    SSLOCSPProxyURL http://127.0.0.1:9997/\n",
            'POST http://ocsp.invalid:80/proxied HTTP/1.0'],
           ['a responder named by a host name',
            "SSLOCSPDefaultResponder http://localhost:9997/named?x=1\n",
            'POST /named?x=1 HTTP/1.0']) {
    my ($name, $conf, $line) = @$c;
    my $resp = ocsp_responder(port => 9997);
    my $h = throwaway_httpd('proxy', $PORT,
        "SSLCodesVerifyClient on\n    SSLOCSPEnable leaf\n"
        . "    SSLOCSPOverrideResponder on\n    $conf"
        # A guard: the responder answers in milliseconds (see extra.conf.in).
        . "    SSLOCSPResponderTimeout 30\n"
        . "    Header always set X-Client-Verify \"%{SSL_CLIENT_VERIFY}s\"");
    my $r = curl('--http1.1', '--cert', "$t/pki/client-valid.pem",
                 "https://localhost:$PORT/ok.html");
    ok t_cmp("$r->{status} $r->{headers}{'x-client-verify'}", '200 SUCCESS',
             "$name: good, served");
    $r = curl('--http1.1', '--cert', "$t/pki/client-ocsp-revoked.pem",
              "https://localhost:$PORT/ok.html");
    ok t_cmp($r->{status}, 495, "$name: revoked, 495");
    ok t_cmp([$resp->requests], [$line, $line], "$name: the request line");
    $h->{stop}->();
    ok t_cmp([bad_log_lines($h->{log}->(),
                            qr/AH00558|AH01882|caught SIGTERM, shutting down/)],
             [], "$name: no error lines");
}
