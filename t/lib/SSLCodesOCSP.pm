package SSLCodesOCSP;
# OCSP responders for the tests, and throwaway httpds for what the main
# test server cannot show (startup failures, a server without a cache).
#
# A responder is a small HTTP server on 127.0.0.1 that hands each request
# to "openssl ocsp" in responder mode (-index, -rsigner, -reqin/-respout)
# over the test CA's database: real OCSP answers, signed by the CA's
# delegated responder.  "openssl ocsp -port" itself would listen on every
# address; this one listens on loopback only, counts the requests it is
# sent, and can misbehave on purpose.  Ports 9990-9999 are the tests'.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep time);
use Apache::Test ();
use SSLCodesTest ();

our @EXPORT = qw(ocsp_responder throwaway_httpd);

# ocsp_responder(port => 9990, mode => MODE, nmin => MINUTES)
#   good     openssl's answer (nextUpdate NMIN minutes ahead, default 10;
#            nmin => 0: no nextUpdate)
#   hang     accept the connection, read the request, never answer
#   garbage  "200 OK" with a body that is not OCSP
#   error    "500 Internal Server Error"
#   rogue    openssl's answer, signed by a responder of the untrusted CA
#   replay   always the same good answer, made once for client-valid with
#            a nonce of its own: what a replayed answer looks like
sub ocsp_responder { SSLCodesOCSP::Responder->new(@_) }

package SSLCodesOCSP::Responder;

sub new {
    my ($class, %o) = @_;
    my $t = Apache::Test::vars('t_dir');
    my $self = bless {
        port => $o{port}, mode => $o{mode} // 'good',
        nmin => $o{nmin} // 10, pki => "$t/pki",
        log => "$t/logs/ocsp-$o{port}.log", tmp => "$t/logs/ocsp-$o{port}",
    }, $class;
    open my $fh, '>', $self->{log} or die "$self->{log}: $!";
    close $fh;
    my $listen = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1', LocalPort => $o{port}, Proto => 'tcp',
        Listen => 64, ReuseAddr => 1)
        or die "OCSP responder: cannot listen on 127.0.0.1:$o{port}: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $self->serve($listen);
        POSIX::_exit(0);
    }
    close $listen;
    $self->{pid} = $pid;
    return $self;
}

# How many requests it has been sent.
sub count {
    my $self = shift;
    open my $fh, '<', $self->{log} or return 0;
    my @lines = <$fh>;
    return scalar @lines;
}

sub stop {
    my $self = shift;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub DESTROY { $_[0]->stop }

sub serve {
    my ($self, $listen) = @_;
    my @held;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    while (my $c = $listen->accept) {
        my ($line, $req) = read_request($c);
        next unless defined $req;
        $self->note($line, length $req);
        if ($self->{mode} eq 'hang') {
            push @held, $c;             # never answered, never closed
            next;
        }
        my ($status, $body) = $self->answer($req);
        print $c "HTTP/1.0 $status\r\nContent-Type: "
            . "application/ocsp-response\r\nContent-Length: "
            . length($body) . "\r\nConnection: close\r\n\r\n$body";
        close $c;
    }
}

# One line per request: its request line and the size of its body.
sub note {
    my ($self, $line, $len) = @_;
    open my $fh, '>>', $self->{log} or return;
    print $fh "$line ($len bytes)\n";
    close $fh;
}

# What it has been sent: one request line per request.
sub requests {
    my $self = shift;
    open my $fh, '<', $self->{log} or return ();
    return map { s/ \(\d+ bytes\)\n$//r } <$fh>;
}

# The request line and body of one HTTP request (Content-Length), or ().
# The server sends it as soon as it has connected; GUARD only bounds one
# that never does (it gives up by its SSLOCSPResponderTimeout anyway).
sub read_request {
    my $c = shift;
    my $sel = IO::Select->new($c);
    my ($buf, $end) = ('', time + SSLCodesTest::GUARD);
    while ($buf !~ /\r\n\r\n/) {
        return () unless $sel->can_read($end - time);
        sysread($c, $buf, 65536, length $buf) or return ();
    }
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    my ($line) = $head =~ /^([^\r\n]*)/;
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    $len //= 0;
    while (length $body < $len) {
        return () unless $sel->can_read($end - time);
        sysread($c, $body, 65536, length $body) or return ();
    }
    return ($line, $body);
}

sub answer {
    my ($self, $req) = @_;
    my $mode = $self->{mode};
    return ('200 OK', 'this is not an OCSP response') if $mode eq 'garbage';
    return ('500 Internal Server Error', 'oops') if $mode eq 'error';
    my $pki = $self->{pki};
    my ($signer, $key) = $mode eq 'rogue'
        ? ("$pki/rogue-signer.crt", "$pki/rogue-signer.key")
        : ("$pki/ocsp-signer.crt", "$pki/ocsp-signer.key");
    my $in = "$self->{tmp}.req";
    if ($mode eq 'replay') {
        return ('200 OK', $self->{replay}) if defined $self->{replay};
        system('openssl', 'ocsp', '-issuer', "$pki/ca.crt", '-cert',
               "$pki/client-valid.crt", '-nonce', '-reqout', $in) == 0
            or return ('500 Internal Server Error', '');
    }
    else {
        open my $fh, '>:raw', $in or return ('500 Internal Server Error', '');
        print $fh $req;
        close $fh;
    }
    my @nmin = $self->{nmin} ? ('-nmin', $self->{nmin}) : ();
    my $rc = system('openssl', 'ocsp', '-index', "$pki/db-ca/index.txt",
                    '-CA', "$pki/ca.crt", '-rsigner', $signer, '-rkey', $key,
                    '-reqin', $in, '-respout', "$self->{tmp}.resp", @nmin);
    return ('500 Internal Server Error', '') if $rc != 0;
    open my $fh, '<:raw', "$self->{tmp}.resp"
        or return ('500 Internal Server Error', '');
    my $resp = do { local $/; <$fh> };
    close $fh;
    $self->{replay} = $resp if $mode eq 'replay';
    return ('200 OK', $resp);
}

package SSLCodesOCSP;

# throwaway_httpd(NAME, PORT, CONFIG, global => TEXT, no_ca => 1,
# module_first => 1, mpm => 'prefork', modules => [NAMES], no_vhost => 1,
# stock => 1):
# write a minimal httpd.conf for a TLS server on 127.0.0.1:PORT with CONFIG
# inside its <VirtualHost> and TEXT outside, and start it in the
# foreground.  MODULES are loaded too (names as in mod_NAME.so).  With
# NO_VHOST, TEXT alone defines the servers, and must listen on PORT.
# Returns { ok => it started, log => sub returning its error log and
# console output, stop => sub }.  STOCK leaves mod_sslcodes out: the same
# server as httpd runs it without the module.
sub throwaway_httpd {
    my ($name, $port, $vhost, %o) = @_;
    my $t = Apache::Test::vars('t_dir');
    my $mods = '/usr/lib/apache2/modules';
    my $dir = "$t/logs/$name";
    mkdir $dir;
    unlink "$dir/error_log", "$dir/httpd.pid";
    my $mpm = $o{mpm} // 'event';
    my $load = join '', map { "LoadModule ${_}_module $mods/mod_$_.so\n" }
        ("mpm_$mpm", qw(authz_core mime ssl socache_shmcb headers),
         @{ $o{modules} // [] });
    my $procs = $mpm eq 'prefork'
        ? "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\n"
          . "MaxRequestWorkers 8"
        : "StartServers 1\nServerLimit 1\nThreadsPerChild 8\n"
          . "MaxRequestWorkers 8\nMinSpareThreads 1\nMaxSpareThreads 8";
    my $mine = $o{stock} ? ''
             : "LoadModule sslcodes_module $t/../.libs/mod_sslcodes.so\n";
    my $loglevel = $o{stock} ? 'info ssl:warn' : 'info ssl:warn sslcodes:trace2';
    $load = $o{module_first} ? $mine . $load : $load . $mine;
    my $global = $o{global} // '';
    my $ca = $o{no_ca} ? '' : "SSLCACertificateFile $t/pki/ca.crt";
    open my $fh, '>', "$dir/httpd.conf" or die "$dir/httpd.conf: $!";
    print $fh <<"CONF";
ServerRoot $t
ServerName localhost
DefaultRuntimeDir $dir
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
LogLevel $loglevel
${load}TypesConfig /dev/null
DocumentRoot $t/htdocs
$procs
SSLRandomSeed startup builtin
SSLSessionCache "shmcb:$dir/ssl_scache(512000)"
SSLCertificateFile $t/pki/server.crt
SSLCertificateKeyFile $t/pki/server.key
$ca
$global
CONF
    print $fh <<"CONF" unless $o{no_vhost};
Listen 127.0.0.1:$port https
<VirtualHost 127.0.0.1:$port>
    ServerName localhost
    SSLEngine on
$vhost
</VirtualHost>
CONF
    close $fh;
    return SSLCodesTest::foreground_httpd($dir, $port);
}

1;
