# SSLCodesVerifyClient on | optional | optional_no_ca, for every kind of
# client certificate, over HTTP/1.1 and HTTP/2, with TLS 1.2 and 1.3.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $P495 = '<html><body>The SSL certificate error</body></html>';
my $P496 = '<html><body>A client certificate is required</body></html>';

# cert => [reason it fails with, or undef]
my %why = (
    none      => undef,
    valid     => undef,
    expired   => '10:certificate has expired',
    future    => '9:certificate is not yet valid',
    revoked   => '23:certificate revoked',
    untrusted => '20:unable to get local issuer certificate',
    deep      => '22:certificate chain too long',
);
my @certs = qw(none valid expired future revoked untrusted deep);

# What each mode answers: status, or 'NONE'/'SUCCESS'/'FAILED' when served.
my %expect = (
    cert_on       => { none => 496, valid => 'SUCCESS' },
    cert_optional => { none => 'NONE', valid => 'SUCCESS' },
    cert_no_ca    => { none => 'NONE', valid => 'SUCCESS',
                       untrusted => 'FAILED' },
);
my @wires = (['HTTP/1.1 TLS 1.2', '--http1.1', '--tls-max', '1.2'],
             ['HTTP/1.1 TLS 1.3', '--http1.1', '--tlsv1.3'],
             ['HTTP/2 TLS 1.2', '--http2', '--tls-max', '1.2'],
             ['HTTP/2 TLS 1.3', '--http2', '--tlsv1.3']);

plan tests => 3 * @certs * @wires * 4 + 3;

my $t = t_dir();
for my $vhost (sort keys %expect) {
    my $port = port($vhost);
    for my $cert (@certs) {
        for my $w (@wires) {
            my ($wname, @opt) = @$w;
            my $want = $expect{$vhost}{$cert} // 495;
            # HTTP/2 over TLS 1.2 never serves a failed certificate: see
            # the README on optional_no_ca.
            $want = 495 if $want eq 'FAILED' && $wname eq 'HTTP/2 TLS 1.2';
            my $name = "$vhost, $cert, $wname";
            my @c = $cert eq 'none' ? () : ('--cert', "$t/pki/client-$cert.pem");
            my $mark = log_mark();
            my $r = curl(@opt, @c, "https://localhost:$port/ok.html");
            my $log = $want =~ /^49/ ? wait_log($mark, qr/SSLCODES0101/)
                                     : log_since($mark);
            if ($want eq 495) {
                ok t_cmp($r->{status_line}, qr/^HTTP\/(?:1\.1 495 SSL Certificate Error|2 495)\s*$/, "$name: 495");
                ok t_cmp($r->{body}, $P495, "$name: 495 page");
                ok t_cmp($r->{headers}{'x-client-verify'}, "FAILED:" . (split /:/, $why{$cert}, 2)[1],
                         "$name: SSL_CLIENT_VERIFY is FAILED");
                ok t_cmp($log, qr/\[sslcodes:info\].*SSLCODES0101: client SSL certificate verify error: \(\Q$why{$cert}\E\) \(vhost localhost:$port, request "GET \/ok\.html HTTP\/[12]\.[01]"\): 495/,
                         "$name: logged");
            }
            elsif ($want eq 496) {
                ok t_cmp($r->{status_line}, qr/^HTTP\/(?:1\.1 496 SSL Certificate Required|2 496)\s*$/, "$name: 496");
                ok t_cmp($r->{body}, $P496, "$name: 496 page");
                ok t_cmp($r->{headers}{'x-client-verify'}, 'NONE', "$name: NONE");
                ok t_cmp($log, qr/SSLCODES0101: client sent no required SSL certificate \(vhost localhost:$port, /,
                         "$name: logged");
            }
            else {
                ok t_cmp($r->{status}, 200, "$name: served");
                ok t_cmp($r->{body}, "ok\n", "$name: content");
                my $v = $want eq 'FAILED'
                    ? 'FAILED:' . (split /:/, $why{$cert}, 2)[1] : $want;
                ok t_cmp($r->{headers}{'x-client-verify'}, $v,
                         "$name: SSL_CLIENT_VERIFY $v");
                ok t_cmp([bad_log_lines($log)], [], "$name: no error lines");
            }
        }
    }
}

# Plain HTTP to a port where only SSLCodesVerifyClient is on (no SSLCodes):
# mod_ssl frees the connection's SSL and answers 400 itself; the module,
# which kept that SSL for the certificate, must not look at it (an ASan
# build fails here if it does).  The server goes on serving.
{
    my $port = port('cert_on');
    my ($raw) = raw_request($port,
        "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
    my $r = parse_response($raw);
    ok t_cmp($r->{status}, 400, 'plain HTTP, SSLCodes off: mod_ssl\'s 400');
    ok t_cmp($r->{body}, 'core 400 document',
             "... with the server's ErrorDocument 400, as stock");
    $r = curl('--http1.1', '--cert', t_dir() . '/pki/client-valid.pem',
              "https://localhost:$port/ok.html");
    ok t_cmp($r->{status}, 200, '... and TLS on the port is served after it');
}
