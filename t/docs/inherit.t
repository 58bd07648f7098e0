# Error documents are inherited from the server config code by code, and a
# vhost overrides only the codes it names; 495 and 496 use the same path.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

plan tests => 12;

my $t = t_dir();
my $p = port('inherit');
my @expired = ('--cert', "$t/pki/client-expired.pem");

my $r = curl('--http1.1', "https://localhost:$p/ok.html");
ok t_cmp("$r->{status} $r->{body}", '496 global 496 text',
         'localhost: 496 from the server config');
$r = curl('--http1.1', @expired, "https://localhost:$p/ok.html");
ok t_cmp("$r->{status} $r->{body}",
         '495 <html><body>The SSL certificate error</body></html>',
         'localhost: 495 default');
$r = curl('--http1.1', "https://a.test:$p/ok.html");
ok t_cmp("$r->{status} $r->{body}", '496 a.test 496 text', 'a.test: 496 overridden');
$r = curl('--http2', @expired, "https://a.test:$p/ok.html");
ok t_cmp("$r->{status} $r->{body}", '403 a.test 495 text',
         'a.test: 495 =403 text, over HTTP/2');

# 495 and 496 documents: local, =403 text, and a CGI that sees the failure.
my $d = port('cert_docs');
$r = curl('--http1.1', "https://localhost:$d/ok.html");
ok t_cmp("$r->{status} $r->{body}", '403 no certificate', '496 =403 text');
$r = curl('--http1.1', @expired, "https://localhost:$d/ok.html?q=1");
my %env = $r->{body} =~ /^(\w+)=(.*)$/mg;
ok t_cmp($r->{status_line}, qr/^HTTP\/1\.1 495 SSL Certificate Error/, '495 CGI document: 495');
ok t_cmp($env{SSL_CLIENT_VERIFY}, 'FAILED:certificate has expired',
         '495 CGI: SSL_CLIENT_VERIFY');
ok t_cmp($env{SSLCODES_VERIFY_ERROR}, '10:certificate has expired',
         '495 CGI: SSLCODES_VERIFY_ERROR');
ok t_cmp("$env{REDIRECT_STATUS} $env{SSLCODES_STATUS}", '495 495',
         '495 CGI: REDIRECT_STATUS and SSLCODES_STATUS');

my $l = port('cert_docs_local');
$r = curl('--http1.1', "https://localhost:$l/ok.html");
ok t_cmp("$r->{status} $r->{body}", "496 <html><body>local cert page</body></html>\n",
         '496 local document');
$r = curl('--http2', @expired, "https://localhost:$l/ok.html");
ok t_cmp("$r->{status} $r->{body}", "495 <html><body>local cert page</body></html>\n",
         '495 local document over HTTP/2');
$r = curl('--http1.1', '--cert', "$t/pki/client-valid.pem", "https://localhost:$l/ok.html");
ok t_cmp("$r->{status} $r->{body}", "200 ok\n", 'valid: served');
