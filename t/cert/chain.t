# The server's certificate chain on the wire is the same with the module
# as without it.  Where the certificate file holds no chain, the module
# builds it once at startup (SSLCODES0008) instead of letting OpenSSL
# build it on every handshake; what the client receives must not change by
# a byte, and where it could change while the server runs (a CA directory,
# two candidate issuers), the module builds nothing.  Each case starts the same server twice, with and without
# mod_sslcodes, and compares what `openssl s_client -showcerts` shows.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesOCSP;
use POSIX ();

my $t = t_dir();
my $pki = "$t/logs/chainpki";

# A root, an intermediate under it, and a server certificate from the
# intermediate: the shape of a production PKI.  Generated here, each run.
sub run {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @_ or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    $? == 0 or die "@_: $?";
}
sub pki {
    system('rm', '-rf', $pki);
    mkdir $pki or die "$pki: $!";
    my $key = sub { run('openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt',
                        'ec_paramgen_curve:P-256', '-out', "$pki/$_[0].key") };
    $key->($_) for qw(root inter leaf);
    run('openssl', 'req', '-x509', '-new', '-key', "$pki/root.key", '-subj',
        '/CN=Chain Test Root', '-days', '30', '-out', "$pki/root.crt",
        '-addext', 'basicConstraints=critical,CA:true',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    my $ext = "$pki/ext.cnf";
    open my $fh, '>', $ext or die $!;
    print $fh "[ca]\nbasicConstraints=critical,CA:true\n"
            . "keyUsage=critical,keyCertSign,cRLSign\n"
            . "[leaf]\nbasicConstraints=critical,CA:false\n"
            . "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n";
    close $fh;
    for (['inter', 'root', 'ca', '/CN=Chain Test Intermediate'],
         ['leaf', 'inter', 'leaf', '/CN=localhost']) {
        my ($name, $by, $section, $subj) = @$_;
        run('openssl', 'req', '-new', '-key', "$pki/$name.key", '-subj', $subj,
            '-out', "$pki/$name.csr");
        run('openssl', 'x509', '-req', '-in', "$pki/$name.csr", '-CA',
            "$pki/$by.crt", '-CAkey', "$pki/$by.key", '-CAcreateserial',
            '-days', '30', '-extfile', $ext, '-extensions', $section,
            '-out', "$pki/$name.crt");
    }
    my $cat = sub {
        my ($out, @in) = @_;
        open my $o, '>', "$pki/$out" or die $!;
        for my $f (@in) {
            open my $i, '<', "$pki/$f" or die "$pki/$f: $!";
            local $/;
            my $pem = <$i>;
            print $o $pem;
        }
        close $o;
    };
    $cat->('leaf-chain.crt', 'leaf.crt', 'inter.crt');
    $cat->('root-inter.crt', 'root.crt', 'inter.crt');
    # The same intermediate certified twice (renewed, or cross-signed):
    # two candidate issuers for the leaf, of which OpenSSL picks the one
    # valid at each handshake.
    run('openssl', 'x509', '-req', '-in', "$pki/inter.csr", '-CA',
        "$pki/root.crt", '-CAkey', "$pki/root.key", '-CAcreateserial',
        '-days', '60', '-extfile', $ext, '-extensions', 'ca',
        '-out', "$pki/inter2.crt");
    $cat->('root-inter-twice.crt', 'root.crt', 'inter.crt', 'inter2.crt');
    # A hashed directory, read as handshakes need it.
    mkdir "$pki/capath" or die $!;
    $cat->("capath/$_.pem", "$_.crt") for qw(root inter);
    run('openssl', 'rehash', "$pki/capath");
}
pki();

# NAME => [the vhost's mod_ssl lines, whether the module has a chain to
# build].  The module's side adds SSLCodes on, and SSLCodesVerifyClient
# where there is a CA file (it needs one).
my @cases = (
    ['leaf alone, its issuers in SSLCACertificateFile',
     "SSLCertificateFile $pki/leaf.crt\nSSLCertificateKeyFile $pki/leaf.key\n"
     . "SSLCACertificateFile $pki/root-inter.crt", 1],
    ['leaf alone, only the root in SSLCACertificateFile (an incomplete chain)',
     "SSLCertificateFile $pki/leaf.crt\nSSLCertificateKeyFile $pki/leaf.key\n"
     . "SSLCACertificateFile $pki/root.crt", 1],
    ['leaf and intermediate in SSLCertificateFile',
     "SSLCertificateFile $pki/leaf-chain.crt\n"
     . "SSLCertificateKeyFile $pki/leaf.key\n"
     . "SSLCACertificateFile $pki/root.crt", 0],
    ['leaf and SSLCertificateChainFile',
     "SSLCertificateFile $pki/leaf.crt\nSSLCertificateKeyFile $pki/leaf.key\n"
     . "SSLCertificateChainFile $pki/inter.crt\n"
     . "SSLCACertificateFile $pki/root-inter.crt", 0],
    ["the test PKI's server certificate, its CA in SSLCACertificateFile",
     "SSLCertificateFile $t/pki/server.crt\n"
     . "SSLCertificateKeyFile $t/pki/server.key\n"
     . "SSLCACertificateFile $t/pki/ca.crt", 1],
    ['leaf alone, no CA file',
     "SSLCertificateFile $pki/leaf.crt\nSSLCertificateKeyFile $pki/leaf.key", 1],
    # Where the chain could change while the server runs, it is left to
    # OpenSSL's per-handshake build, as in stock.
    ['leaf alone, two candidate intermediates in SSLCACertificateFile',
     "SSLCertificateFile $pki/leaf.crt\nSSLCertificateKeyFile $pki/leaf.key\n"
     . "SSLCACertificateFile $pki/root-inter-twice.crt", 0],
    ['leaf alone, its issuers in SSLCACertificatePath',
     "SSLCertificateFile $pki/leaf.crt\nSSLCertificateKeyFile $pki/leaf.key\n"
     . "SSLCACertificatePath $pki/capath", 0],
);

plan tests => 4 * @cases;

# The certificates the server sends, in order, as PEM.
sub sent_chain {
    my $port = shift;
    my $out = `openssl s_client -connect 127.0.0.1:$port -servername localhost -showcerts < /dev/null 2>/dev/null`;
    my @pem = $out =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)/sg;
    return join "\n", @pem;
}

my ($stock_port, $mod_port) = free_ports(2, 200, 220);
my $n = 0;
for my $case (@cases) {
    my ($name, $ssl, $builds) = @$case;
    $n++;
    # No server-level CA: each case says what its vhost trusts.
    my $stock = throwaway_httpd("chain-stock-$n", $stock_port, $ssl,
                                stock => 1, no_ca => 1);
    my $verify = $ssl =~ /SSLCACertificateFile/
        ? "SSLCodesVerifyClient optional\n" : '';
    my $mod = throwaway_httpd("chain-mod-$n", $mod_port,
                              "$ssl\nSSLCodes on\n$verify"
                              . "LogLevel info ssl:warn sslcodes:debug",
                              no_ca => 1);
    my ($want, $got) = ($stock->{ok} ? sent_chain($stock_port) : '',
                        $mod->{ok} ? sent_chain($mod_port) : '');
    $stock->{stop}->();
    $mod->{stop}->();
    ok t_cmp($stock->{ok} && $mod->{ok} ? 1 : 0, 1, "$name: both servers start");
    ok t_cmp(length($got) > 0 ? 1 : 0, 1, "$name: certificates were sent");
    ok t_cmp($got, $want, "$name: the same certificates as without the module");
    my $built = $mod->{log}->() =~ /SSLCODES0008: vhost localhost:\d+: the chain of .* is built once at startup/ ? 1 : 0;
    ok t_cmp($built, $builds, "$name: " . ($builds ? 'built once at startup'
                                                   : 'left as configured'));
}
