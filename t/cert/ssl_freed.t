# mod_ssl frees a connection's SSL in the middle of a request when
# mod_proxy_http ends the client connection: on a keep-alive connection, a
# backend that closes without answering makes it send EOC down the
# connection, which frees the SSL, and the request goes on (500, its
# ErrorDocument, the log).  The module keeps that SSL for
# SSLCodesVerifyClient; its later looks (the error document's location
# check, %{SSL_CLIENT_VERIFY} in the log's condition, the verify result
# written back) must see that it is gone.  Under SANITIZE=1 any read of
# the freed SSL fails the run (t/bin/run-tests reads ASan's reports);
# every build checks that the server answers and goes on serving.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use IO::Socket::UNIX;
use POSIX ();
use SSLCodesTest;

my $t = t_dir();
my $port = port('cert_freed');
my $sock = "$t/logs/closing.sock";

plan tests => 6;

# The backend: accepts, reads the request, closes without a byte.
unlink $sock;
my $listen = IO::Socket::UNIX->new(Local => $sock, Listen => 16)
    or die "$sock: $!";
chmod 0777, $sock;
my $backend = fork // die "fork: $!";
if (!$backend) {
    while (my $c = $listen->accept) {
        sysread $c, my $buf, 65536;
        close $c;
    }
    POSIX::_exit(0);
}
close $listen;

my $amark = -e "$t/logs/freed_log" ? -s "$t/logs/freed_log" : 0;
my $mark = log_mark();
my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
    SSL_verify_mode => SSL_VERIFY_NONE, SSL_hostname => 'localhost',
    SSL_cert_file => "$t/pki/client-untrusted.pem",
    SSL_key_file => "$t/pki/client-untrusted.key")
    or die "TLS: $SSL_ERROR";
# A first request, so that the next one is on a kept-alive connection.
print $s "GET /ok.html HTTP/1.1\r\nHost: localhost\r\n\r\n";
my $first = '';
wait_for(sub {
    my $n = sysread $s, my $buf, 65536;
    $first .= $buf if $n;
    return $first =~ /\r\n\r\nok\n/;
});
ok t_cmp(parse_response($first)->{status}, 200,
         'optional_no_ca, an untrusted issuer: served');
print $s "GET /app/x HTTP/1.1\r\nHost: localhost\r\n\r\n";
my $out = read_until_close($s);
close $s;
ok t_cmp(length $out, 0,
         'the backend closed without an answer: so does the connection');

my $alog = '';
wait_for(sub {
    open my $fh, '<', "$t/logs/freed_log" or return 0;
    seek $fh, $amark, 0;
    $alog = do { local $/; <$fh> };
    return $alog =~ m{GET /app/x};
});
ok t_cmp($alog, qr{^502 GET /app/x HTTP/1\.1$}m,
         "the request is logged (mod_proxy's 502), its condition evaluated");
# Its ErrorDocument is under /admin, which asks for a verified
# certificate: with the SSL gone there is no certificate to look at, as
# mod_ssl's own variables say (NONE), so the document is refused as 496.
# Reading the freed SSL instead found the old certificate (495).
my $log = wait_log($mark, qr/SSLCODES0511/);
ok t_cmp($log, qr{SSLCODES0511: ErrorDocument "/admin/x\.html" for status 500 refused: 496 },
         'the document is refused for want of a certificate: the SSL is not read');

# The server goes on: a new connection is served, with the certificate
# checked again.
my $r = curl('--http1.1', '--cert', "$t/pki/client-untrusted.pem",
             "https://localhost:$port/ok.html");
ok t_cmp($r->{status}, 200, 'a new connection is served');
$r = curl('--http1.1', '--cert', "$t/pki/client-untrusted.pem",
          "https://localhost:$port/admin/x.html");
ok t_cmp($r->{status}, 495, '... and /admin still refuses that certificate');

kill 'TERM', $backend;
waitpid $backend, 0;
unlink $sock;
