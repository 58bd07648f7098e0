# SSLCodesVerifyClient in <Location>, <Directory>, <Files> and .htaccess:
# /admin needs a verified certificate, /admin/open is open again, whatever
# the vhost says, over HTTP/1.1 and HTTP/2 with TLS 1.2 and 1.3; and
# nothing reaches /admin another way (SSI, rewrites, error documents).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $P495 = '<html><body>The SSL certificate error</body></html>';
my $P496 = '<html><body>A client certificate is required</body></html>';
my $SECRET = "admin secret\n";
my @wires = (['HTTP/1.1 TLS 1.2', '--http1.1', '--tls-max', '1.2'],
             ['HTTP/1.1 TLS 1.3', '--http1.1', '--tlsv1.3'],
             ['HTTP/2 TLS 1.3', '--http2', '--tlsv1.3']);

plan tests => 2 * @wires * 25 + 4 + 12 + 14 + 6 + 5 + 5 + 6 + 6;

my $t = t_dir();
my %cert = map { $_ => ['--cert', "$t/pki/client-$_.pem"] }
           qw(valid expired untrusted);
$cert{none} = [];

# One request; checks status, body and SSL_CLIENT_VERIFY, and the 49x
# log line or the absence of error lines.
sub req {
    my ($name, $vhost, $path, $cert, $wire, $status, $body, $verify) = @_;
    my $port = port($vhost);
    my $mark = log_mark();
    my $r = curl(@$wire, @{ $cert{$cert} }, "https://localhost:$port$path");
    ok t_cmp($r->{status}, $status, "$name: $status");
    ok t_cmp($r->{body}, $body, "$name: body");
    ok t_cmp($r->{headers}{'x-client-verify'}, $verify,
             "$name: SSL_CLIENT_VERIFY $verify") if defined $verify;
    if ($status =~ /^49[56]$/) {
        my $why = $status == 496 ? 'client sent no required SSL certificate'
                                 : 'client SSL certificate verify error';
        my $reason = $status == 496 ? 'SSL Certificate Required'
                                    : 'SSL Certificate Error';
        ok t_cmp($r->{status_line},
                 qr/^HTTP\/(?:1\.1 $status \Q$reason\E|2 $status)\s*$/,
                 "$name: status line");
        ok t_cmp(wait_log($mark, qr/SSLCODES0101/),
                 qr/SSLCODES0101: \Q$why\E.*\(vhost localhost:$port, request "GET \Q$path\E HTTP\/[12](?:\.[01])?"\): $status/,
                 "$name: logged");
    }
    else {
        ok t_cmp([bad_log_lines(log_since($mark))], [],
                 "$name: no error lines");
    }
    return $r;
}

# 1. The vhost at off and at optional, /admin at on, /admin/open at off.
for my $vhost (qw(loc_off loc_optional)) {
    for my $w (@wires) {
        my ($wname, @opt) = @$w;
        my $n = "$vhost, $wname";
        req("$n, no certificate, /", $vhost, '/ok.html', 'none', \@opt,
            200, "ok\n", 'NONE');
        req("$n, no certificate, /admin", $vhost, '/admin/x.html', 'none',
            \@opt, 496, $P496, 'NONE');
        req("$n, no certificate, /admin/open", $vhost,
            '/admin/open/ok.html', 'none', \@opt, 200, "admin open\n");
        req("$n, valid, /", $vhost, '/ok.html', 'valid', \@opt, 200,
            "ok\n", 'SUCCESS');
        req("$n, valid, /admin", $vhost, '/admin/x.html', 'valid', \@opt,
            200, $SECRET, 'SUCCESS');
        # A failed certificate is refused on the whole connection.
        req("$n, expired, /admin", $vhost, '/admin/x.html', 'expired',
            \@opt, 495, $P495, 'FAILED:certificate has expired');
    }
}

# 2. HTTP/2: two streams on one connection, one open, one protected.
for my $vhost (qw(loc_off loc_optional)) {
    my $p = port($vhost);
    my $out = `curl -sS --http2 --cacert $t/pki/ca.crt --resolve localhost:$p:127.0.0.1 -o /dev/null -o /dev/null -w '%{http_version} %{http_code} %{num_connects}\\n' https://localhost:$p/ok.html https://localhost:$p/admin/x.html 2>&1`;
    ok t_cmp($out, "2 200 1\n2 496 0\n",
             "$vhost: HTTP/2, / then /admin on one connection: 200, 496");
    $out = `curl -sS --http2 --cacert $t/pki/ca.crt --resolve localhost:$p:127.0.0.1 --cert $t/pki/client-valid.pem -o /dev/null -o /dev/null -w '%{http_version} %{http_code} %{num_connects}\\n' https://localhost:$p/admin/x.html https://localhost:$p/ok.html 2>&1`;
    ok t_cmp($out, "2 200 1\n2 200 0\n",
             "$vhost: HTTP/2 with a valid certificate: 200, 200");
}

# 3. Nothing of /admin leaks another way (no certificate).
{
    my @h = ('--http1.1');
    # SSI: the include is refused, the page is served without it.
    my $mark = log_mark();
    my $r = curl(@h, 'https://localhost:' . port('loc_off')
                     . '/ssi/include.shtml');
    ok t_cmp($r->{status}, 200, 'SSI page: served');
    ok t_cmp($r->{body}, "before [[an error occurred while processing this directive]] after\n",
             'SSI page: the include of /admin is refused');
    my $log = wait_log($mark, qr/SSLCODES0510/);
    ok t_cmp($log, qr/\[sslcodes:info\].*SSLCODES0510: subrequest for "\/admin\/x\.html" refused: 496/,
             'SSI page: the refusal is logged');
    ok t_cmp([bad_log_lines($log, qr/\[include:error\].*unable to include "\/admin\/x\.html"/)],
             [], 'SSI page: no other error lines');
    $r = curl(@h, @{ $cert{valid} }, 'https://localhost:' . port('loc_off')
                                      . '/ssi/include.shtml');
    ok t_cmp($r->{body}, "before [$SECRET] after\n",
             'SSI page, valid certificate: the include works');

    # A RewriteRule mapping /a onto /admin/x.html, in both vhosts.
    for my $vhost (qw(loc_off loc_optional)) {
        $r = curl(@h, 'https://localhost:' . port($vhost) . '/a');
        ok t_cmp("$r->{status} $r->{body}", "496 $P496",
                 "$vhost: RewriteRule /a -> /admin/x.html: 496");
    }
    # An internal redirect by a per-directory RewriteRule.
    $r = curl(@h, 'https://localhost:' . port('loc_off') . '/ssi/go');
    ok t_cmp("$r->{status} $r->{body}", "496 $P496",
             'per-directory RewriteRule into /admin: 496');
    # An ErrorDocument inside /admin: the 404 stays a 404, without it.
    $mark = log_mark();
    $r = curl(@h, 'https://localhost:' . port('loc_off') . '/missing.html');
    ok t_cmp($r->{status}, 404, 'ErrorDocument 404 in /admin: 404');
    ok t_cmp($r->{body} !~ /admin secret/ ? 'hidden' : 'leaked', 'hidden',
             'ErrorDocument 404 in /admin: not served');
    ok t_cmp([bad_log_lines(log_since($mark))], [],
             'ErrorDocument 404 in /admin: no error lines');
    $r = curl(@h, @{ $cert{valid} }, 'https://localhost:' . port('loc_off')
                                      . '/missing.html');
    ok t_cmp("$r->{status} $r->{body}", "404 $SECRET",
             'ErrorDocument 404 in /admin, valid certificate: served');
}

# 4. The <Directory> and <Files> forms, with the vhost's error document.
{
    my $local = "<html><body>local cert page</body></html>\n";
    my @h = ('--http1.1');
    for my $c (['/admin/x.html', 496, $local], ['/alias-admin/x.html', 496, $local],
               ['/a', 496, $local], ['/admin/open/ok.html', 200, "admin open\n"],
               ['/files/secret.html', 496, $local],
               ['/files/public.html', 200, "files public\n"]) {
        my ($path, $status, $body) = @$c;
        my $r = curl(@h, 'https://localhost:' . port('loc_dir') . $path);
        ok t_cmp("$r->{status} $r->{body}", "$status $body",
                 "loc_dir, no certificate, $path: $status");
    }
    for my $path ('/admin/x.html', '/files/secret.html') {
        my $r = curl(@h, @{ $cert{valid} },
                     'https://localhost:' . port('loc_dir') . $path);
        ok t_cmp($r->{status}, 200, "loc_dir, valid, $path: 200");
    }
    for my $path ('/files/public.html', '/admin/x.html') {
        my $r = curl(@h, @{ $cert{expired} },
                     'https://localhost:' . port('loc_dir') . $path);
        ok t_cmp("$r->{status} $r->{body}", "495 $local",
                 "loc_dir, expired, $path: 495 with the error document");
    }
    # TLS 1.3 and HTTP/2.
    for my $w (['--http1.1', '--tlsv1.3'], ['--http2', '--tlsv1.3']) {
        my $r = curl(@$w, 'https://localhost:' . port('loc_dir')
                          . '/files/secret.html');
        ok t_cmp($r->{status}, 496, "loc_dir, @$w, no certificate: 496");
        $r = curl(@$w, @{ $cert{valid} }, 'https://localhost:'
                  . port('loc_dir') . '/files/secret.html');
        ok t_cmp($r->{status}, 200, "loc_dir, @$w, valid: 200");
    }
}

# 5. The vhost requires a certificate; a location opens a path.
{
    my @h = ('--http1.1');
    my $p = port('loc_on');
    my $r = curl(@h, "https://localhost:$p/ok.html");
    ok t_cmp($r->{status}, 496, 'loc_on, no certificate, /: 496');
    $r = curl(@h, "https://localhost:$p/admin/open/ok.html");
    ok t_cmp("$r->{status} $r->{body}", "200 admin open\n",
             'loc_on, no certificate, /admin/open (off): 200');
    $r = curl(@h, @{ $cert{expired} }, "https://localhost:$p/admin/open/ok.html");
    ok t_cmp($r->{status}, 495, 'loc_on, expired, /admin/open: 495');
    $r = curl('--http2', "https://localhost:$p/admin/open/ok.html");
    ok t_cmp($r->{status}, 200, 'loc_on, HTTP/2, no certificate, /admin/open: 200');
    $r = curl(@h, @{ $cert{valid} }, "https://localhost:$p/ok.html");
    ok t_cmp($r->{status}, 200, 'loc_on, valid, /: 200');
    $r = curl(@h, @{ $cert{untrusted} }, "https://localhost:$p/admin/open/ok.html");
    ok t_cmp($r->{status}, 495, 'loc_on, untrusted, /admin/open: 495');
}

# 6. optional_no_ca on the vhost forgives an untrusted issuer; /admin not.
{
    my $p = port('loc_no_ca');
    my $r = curl('--http1.1', @{ $cert{untrusted} }, "https://localhost:$p/ok.html");
    ok t_cmp("$r->{status} $r->{headers}{'x-client-verify'}",
             '200 FAILED:unable to get local issuer certificate',
             'loc_no_ca, untrusted, /: served, FAILED');
    $r = curl('--http1.1', @{ $cert{untrusted} }, "https://localhost:$p/admin/x.html");
    ok t_cmp("$r->{status} $r->{headers}{'x-client-verify'}",
             '495 FAILED:unable to get local issuer certificate',
             'loc_no_ca, untrusted, /admin: 495');
    ok t_cmp($r->{body}, $P495, 'loc_no_ca, untrusted, /admin: 495 page');
    $r = curl('--http1.1', "https://localhost:$p/admin/x.html");
    ok t_cmp($r->{status}, 496, 'loc_no_ca, no certificate, /admin: 496');
    $r = curl('--http1.1', @{ $cert{valid} }, "https://localhost:$p/admin/x.html");
    ok t_cmp($r->{status}, 200, 'loc_no_ca, valid, /admin: 200');
}

# 7. .htaccess (AllowOverride AuthConfig).  Where the handshake asks (any
#    location of the vhost does), it works; where it never asks, no
#    certificate can be there: 496 even with one.
{
    my $r = curl('--http1.1', 'https://localhost:' . port('loc_off') . '/hta/ok.html');
    ok t_cmp($r->{status}, 496, '.htaccess, no certificate: 496');
    $r = curl('--http1.1', @{ $cert{valid} },
              'https://localhost:' . port('loc_off') . '/hta/ok.html');
    ok t_cmp("$r->{status} $r->{body}", "200 hta secret\n",
             '.htaccess, valid: 200');
    $r = curl('--http1.1', @{ $cert{expired} },
              'https://localhost:' . port('loc_off') . '/hta/ok.html');
    ok t_cmp($r->{status}, 495, '.htaccess, expired: 495');
    my $mark = log_mark();
    $r = curl('--http1.1', @{ $cert{valid} },
              'https://localhost:' . port('tls_off') . '/hta/ok.html');
    ok t_cmp("$r->{status} $r->{body}", "496 global 496 text",
             '.htaccess in a vhost that never asks: 496');
    ok t_cmp([bad_log_lines(wait_log($mark, qr/SSLCODES0101/))], [],
             '.htaccess in a vhost that never asks: no error lines');
}

# 8. A failed session is not resumed into a verified one.
{
    my $p = port('loc_off');
    my $req = "printf 'GET /admin/x.html HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'";
    my $sess = "$t/logs/loc-expired.sess";
    unlink $sess;
    my $first = `$req | openssl s_client -connect 127.0.0.1:$p -servername localhost -CAfile $t/pki/ca.crt -ign_eof -tls1_2 -no_ticket -cert $t/pki/client-expired.pem -sess_out $sess 2>&1`;
    ok t_cmp($first, qr/HTTP\/1\.1 495 /, 'resumption: first connection 495');
    my $again = `$req | openssl s_client -connect 127.0.0.1:$p -servername localhost -CAfile $t/pki/ca.crt -ign_eof -tls1_2 -no_ticket -sess_in $sess 2>&1`;
    ok t_cmp($again =~ /^Reused,/m ? 'resumed' : 'full handshake',
             'full handshake', 'resumption: the failed session is not resumed');
    ok t_cmp($again, qr/HTTP\/1\.1 496 /, 'resumption: /admin without a certificate: 496');
    # Control: a verified session resumes, and stays verified.
    unlink $sess;
    `$req | openssl s_client -connect 127.0.0.1:$p -servername localhost -CAfile $t/pki/ca.crt -ign_eof -tls1_2 -no_ticket -cert $t/pki/client-valid.pem -sess_out $sess 2>&1`;
    $again = `$req | openssl s_client -connect 127.0.0.1:$p -servername localhost -CAfile $t/pki/ca.crt -ign_eof -tls1_2 -no_ticket -sess_in $sess 2>&1`;
    ok t_cmp($again =~ /^Reused,/m ? 'resumed' : 'full handshake',
             'resumed', 'resumption: control: a verified session resumes');
    ok t_cmp($again, qr/HTTP\/1\.1 200 /, 'resumption: control: /admin 200');
    ok t_cmp($again, qr/admin secret/, 'resumption: control: content');
}

# 9. mod_cache (CacheQuickHandler on) never keeps what /admin decided: its
#    quick handler would answer before any location is consulted.
{
    my $p = port('loc_cache');
    for my $n (1, 2) {
        my $r = curl('--http1.1', @{ $cert{valid} },
                     "https://localhost:$p/admin/x.html");
        ok t_cmp("$r->{status} " . ($r->{headers}{'x-cache'} // 'none'),
                 qr/^200 MISS/, "mod_cache, valid, /admin ($n): 200, not cached");
    }
    my $r = curl('--http1.1', "https://localhost:$p/admin/x.html");
    ok t_cmp("$r->{status} $r->{body}", "496 $P496",
             'mod_cache, no certificate, /admin after two 200s: 496');
    $r = curl('--http1.1', "https://localhost:$p/admin/x.html");
    ok t_cmp($r->{status}, 496, 'mod_cache, no certificate, again: 496');
    # Control: the cache works for the rest of the vhost.
    curl('--http1.1', "https://localhost:$p/ok.html");
    $r = curl('--http1.1', "https://localhost:$p/ok.html");
    ok t_cmp("$r->{status} " . ($r->{headers}{'x-cache'} // 'none'),
             qr/^200 HIT/, 'mod_cache control: / is cached');
    $r = curl('--http1.1', "https://localhost:$p/ok.html");
    ok t_cmp($r->{body}, "ok\n", 'mod_cache control: content');
}
