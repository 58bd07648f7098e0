# Every ```apache block of README.md, and the two shipped configuration
# files (conf/sslcodes.conf, conf/sslcodes-reference.conf), starts a real
# httpd: each is taken as written, with the test's certificates, paths and
# loopback ports put in, and the server must start, accept a connection
# and answer.  A snippet that cannot start fails the suite.
#
# A block with a <VirtualHost> of its own goes in at server level; any
# other block goes inside a TLS <VirtualHost>, or at server level when its
# directives belong there (SSLCodesOCSPCache, LoadModule ...).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;

my $t = t_dir();
my $top = "$t/..";
my $mods = '/usr/lib/apache2/modules';
my ($tls, $plain) = free_ports(2, 330, 350);

sub slurp { open my $fh, '<', shift or die "$_[0]: $!"; local $/; <$fh> }

my @snippets;
my $n = 0;
for my $block (slurp("$top/README.md") =~ /^```apache\n(.*?)^```/msg) {
    $n++;
    push @snippets, ["README.md, apache block $n", $block];
}
push @snippets, ['conf/sslcodes.conf', slurp("$top/conf/sslcodes.conf")],
                ['conf/sslcodes-reference.conf',
                 slurp("$top/conf/sslcodes-reference.conf")];

plan tests => 1 + @snippets;
ok t_cmp($n >= 5 ? 'found' : "only $n", 'found', "README.md's apache blocks ($n)");

my $dir = "$t/logs/snippets";
mkdir $dir;
open my $key, '>:raw', "$dir/ticket.key" or die $!;
print $key 'k' x 48;
close $key;

# The snippet with the test's files and ports.
sub fill {
    my $c = shift;
    $c =~ s/^(\s*SSLCertificateFile)\s+\S+/$1 $t\/pki\/server.crt/mg;
    $c =~ s/^(\s*SSLCertificateKeyFile)\s+\S+/$1 $t\/pki\/server.key/mg;
    $c =~ s/^(\s*SSLCACertificateFile)\s+\S+/$1 $t\/pki\/ca.crt/mg;
    $c =~ s/^(\s*SSLCARevocationFile)\s+\S+/$1 $t\/pki\/ca.crl/mg;
    $c =~ s/^(\s*SSLSessionTicketKeyFile)\s+\S+/$1 $dir\/ticket.key/mg;
    $c =~ s{^(\s*LoadModule\s+sslcodes_module)\s+\S+}{$1 $top/.libs/mod_sslcodes.so}mg;
    $c =~ s{^(\s*LoadModule\s+\S+\s+)modules/}{$1$mods/}mg;
    $c =~ s{(/var/run/apache2|/run/apache2|/var/cache/apache2)}{$dir}g;
    $c =~ s/\*:443\b/127.0.0.1:$tls/g;
    $c =~ s/\*:80\b/127.0.0.1:$plain/g;
    $c =~ s/^(\s*Listen\s+)443\b/${1}127.0.0.1:$tls/mg;
    $c =~ s/^(\s*Listen\s+)80\b/${1}127.0.0.1:$plain/mg;
    # Stores on other hosts: the same kind of store, here.
    $c =~ s/\b10\.0\.0\.\d+:(\d+)/127.0.0.1:$1/g;
    return $c;
}

sub conf_for {
    my ($body, $inside) = @_;
    my $load = join '', map { "LoadModule ${_}_module $mods/mod_$_.so\n" }
        qw(mpm_event authz_core authz_host mime dir alias rewrite headers
           ssl socache_shmcb socache_memcache socache_redis remoteip proxy
           proxy_http status http2 cgid);
    my $listen = $body =~ /^\s*Listen\s+127\.0\.0\.1:$tls\b/m
                 ? '' : "Listen 127.0.0.1:$tls https\n";
    $listen .= "Listen 127.0.0.1:$plain\n"
        if $body =~ /127\.0\.0\.1:$plain/ && $body !~ /^\s*Listen\s+127\.0\.0\.1:$plain\b/m;
    my $vhost = $inside
        ? "<VirtualHost 127.0.0.1:$tls>\nServerName localhost\nSSLEngine on\n"
          . "$body\n</VirtualHost>\n"
        : ($body =~ /<VirtualHost 127\.0\.0\.1:$tls>/ ? '' :
           "<VirtualHost 127.0.0.1:$tls>\nServerName localhost\n"
           . "SSLEngine on\n</VirtualHost>\n") . $body;
    return <<"CONF";
ServerRoot $t
ServerName localhost
DefaultRuntimeDir $dir
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
LogLevel info ssl:warn
${load}LoadModule sslcodes_module $top/.libs/mod_sslcodes.so
TypesConfig /dev/null
DocumentRoot $t/htdocs
ScriptSock $dir/cgid.sock
StartServers 1
ServerLimit 1
ThreadsPerChild 4
MaxRequestWorkers 4
SSLSessionCache "shmcb:$dir/ssl_scache(512000)"
SSLCertificateFile $t/pki/server.crt
SSLCertificateKeyFile $t/pki/server.key
$listen
$vhost
CONF
}

# Start httpd with CONF; returns (started and answered, log).
sub try_start {
    my $conf = shift;
    unlink "$dir/httpd.pid", "$dir/error_log";
    open my $fh, '>', "$dir/httpd.conf" or die $!;
    print $fh $conf;
    close $fh;
    my $h = foreground_httpd($dir, $tls);
    my $ok = $h->{ok};
    if ($ok) {
        # It answers: plain HTTP on the TLS port gets the module's or
        # mod_ssl's answer, a status line in either case; behind a load
        # balancer, after the PROXY header it sends.
        my $proxy = $conf =~ /^\s*RemoteIPProxyProtocol\s+On/mi
            ? "PROXY TCP4 127.0.0.1 127.0.0.1 40000 $tls\r\n" : '';
        my ($raw) = raw_request($tls,
            "${proxy}GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            until => sub { $_[0] =~ /\r\n\r\n/ }, timeout => 10);
        $ok = $raw =~ m{^HTTP/1\.1 \d{3} };
    }
    $h->{stop}->();
    return ($ok, $h->{log}->());
}

for my $s (@snippets) {
    my ($name, $block) = @$s;
    my $body = fill($block);
    my ($ok, $log);
    if ($body =~ /<VirtualHost/) {
        ($ok, $log) = try_start(conf_for($body, 0));
    }
    else {
        ($ok, $log) = try_start(conf_for($body, 1));
        ($ok, $log) = try_start(conf_for($body, 0))
            if !$ok && $log =~ /cannot occur within <VirtualHost>|not allowed here/;
    }
    ok t_cmp($ok ? 'started and answered' : "did not start: $log",
             'started and answered', $name);
}
