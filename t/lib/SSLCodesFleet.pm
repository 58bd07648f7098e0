package SSLCodesFleet;
# A fleet behind a load balancer, for t/fleet: HAProxy in TCP mode in
# front of httpd instances that share TLS session state (a ticket key file
# and memcached).  Every component runs in the foreground in a process
# group of its own, is started here and stopped here by its pid, listens
# on 127.0.0.1 only, on ports SSLCODES_FLEET_PORT (9850) to +15, and
# writes under t/logs/fleet/<test>.
#
#   port NAME          the port of a component or frontend (see %OFFSET)
#   start(NAMES)       start components in order; '' or an error message
#   stop(NAME)         stop one; everything left is stopped at exit
#   write_instance(NAME, %opt)   (re)write an instance's httpd.conf
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Path qw(make_path remove_tree);
use File::Basename qw(basename);
use IO::Socket::INET;
use IO::Socket::SSL;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Apache::Test ();
use SSLCodesTest;

our @EXPORT = qw(fleet_port fleet_dir fleet_start fleet_stop fleet_pid
                 fleet_graceful fleet_graceful_done fleet_kill
                 write_instance s_client
                 tls_request plain_request instance_log access_lines
                 fleet_bad_log_lines note);

my $base = $ENV{SSLCODES_FLEET_PORT} || 9850;

# Frontends of HAProxy, then the components.  The "stock" pair is the
# same as a/b without the module.
my %OFFSET = (
    rr => 0,            # PROXY v2, round robin over a and b
    rr_v1 => 1,         # PROXY v1, round robin over a and b
    pin_a => 2,         # PROXY v2, a only
    pin_b => 3,         # PROXY v2, b only
    a => 4, b => 5,
    memcached => 6,
    redis => 7,
    ocsp => 8,          # an OCSP responder (t/lib/SSLCodesOCSP.pm)
    stock_rr => 10, stock_pin_a => 12, stock_pin_b => 13,
    stock_a => 14, stock_b => 15,
);

sub fleet_port {
    my $name = shift;
    defined $OFFSET{$name} or die "no fleet port for '$name'";
    return $base + $OFFSET{$name};
}

my $t = SSLCodesTest::t_dir();
my $dir = "$t/logs/fleet/" . basename($0, '.t');

sub fleet_dir { $dir }

# A fresh directory for this test, with the fleet's ticket key: 48 random
# bytes (key name, HMAC secret, AES key), as SSLSessionTicketKeyFile wants.
sub fleet_init {
    remove_tree($dir);
    make_path($dir);
    open my $in, '<', '/dev/urandom' or die "/dev/urandom: $!";
    read($in, my $bytes, 48) == 48 or die "/dev/urandom: short read";
    open my $out, '>', "$dir/ticket.key" or die "$dir/ticket.key: $!";
    print $out $bytes;
    close $out or die "$dir/ticket.key: $!";
}
fleet_init();

sub note { print map { "# $_\n" } map { split /\n/ } @_ }

# --- Processes -----------------------------------------------------------

my %proc;           # name => pid, which is also its process group
my @order;          # start order, for stopping in reverse
my $owner = $$;     # forked load generators must not clean up

sub spawn {
    my ($name, $log, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    $proc{$name} = $pid;
    push @order, $name;
    return $pid;
}

sub fleet_pid { $proc{shift()} }

sub alive {
    my $name = shift;
    my $pid = $proc{$name} or return 0;
    return waitpid($pid, WNOHANG) == 0;
}

sub tail_of {
    my ($file, $n) = @_;
    open my $fh, '<', $file or return "($file: $!)";
    my @l = <$fh>;
    return join '', @l > $n ? @l[-$n .. -1] : @l;
}

sub port_open {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 1);
    return $s ? 1 : 0;
}

# The last lines of NAME's logs: its output, and httpd's error log.
sub logs_of {
    my $name = shift;
    my @files = -d "$dir/$name" ? ("$dir/$name/stderr", "$dir/$name/error_log")
                                : ("$dir/$name.log");
    return join '', map { "last lines of $_:\n" . tail_of($_, 15) }
                    grep { -s $_ } @files;
}

# Wait until COND is true while NAME lives; '' or why not.  An event wait:
# GUARD only bounds a start (or graceful restart) that never completes.
sub wait_ready {
    my ($name, $cond, $what) = @_;
    my $end = time + GUARD;
    while (time < $end) {
        return '' if $cond->();
        if (!alive($name)) {
            delete $proc{$name};
            return "$name did not start ($what), exit status $?\n"
                 . logs_of($name);
        }
        sleep 0.05;
    }
    return "$name did not become ready within " . GUARD . " s ($what)\n"
         . logs_of($name);
}

sub start_memcached {
    my $port = fleet_port('memcached');
    my $log = "$dir/memcached.log";
    spawn('memcached', $log, 'memcached', '-l', '127.0.0.1', '-p', $port,
          '-U', '0', '-m', '16', '-t', '2', '-c', '256');
    return wait_ready('memcached', sub { port_open($port) },
                      "127.0.0.1:$port");
}

sub start_redis {
    my $port = fleet_port('redis');
    my $log = "$dir/redis.log";
    # In the foreground, in memory only.
    spawn('redis', $log, 'redis-server', '--bind', '127.0.0.1', '--port',
          $port, '--save', '', '--appendonly', 'no', '--daemonize', 'no');
    return wait_ready('redis', sub { port_open($port) }, "127.0.0.1:$port");
}

sub start_httpd {
    my $name = shift;
    my $conf = "$dir/$name/httpd.conf";
    my $log = "$dir/$name/error_log";
    write_instance($name) unless -e $conf;
    my $from = -e $log ? -s $log : 0;
    spawn($name, "$dir/$name/stderr", Apache::Test::vars('httpd'),
          '-D', 'FOREGROUND', '-f', $conf);
    return wait_ready($name, sub {
        SSLCodesTest::_read_from($log, $from) =~ /AH00489:/
            && port_open(fleet_port($name));
    }, "httpd on 127.0.0.1:" . fleet_port($name));
}

sub start_haproxy {
    my @pairs = @_;
    my $cfg = "$dir/haproxy.cfg";
    my $log = "$dir/haproxy.log";
    write_haproxy($cfg, @pairs);
    spawn('haproxy', $log, 'haproxy', '-db', '-f', $cfg);
    my @ports = map { fleet_port($_) }
                map { $_ eq 'stock' ? qw(stock_rr stock_pin_a stock_pin_b)
                                    : qw(rr rr_v1 pin_a pin_b) } @pairs;
    return wait_ready('haproxy', sub { !grep { !port_open($_) } @ports },
                      "frontends on 127.0.0.1:@ports");
}

# Start NAMES in order: memcached, an instance name, or "haproxy:PAIRS"
# (pairs "mod" and "stock").  '' when all run, else the reason.
sub fleet_start {
    my @names = @_;
    for my $n (@names) {
        for my $bin ($n =~ /^haproxy/ ? 'haproxy'
                     : $n eq 'memcached' ? 'memcached'
                     : $n eq 'redis' ? 'redis-server' : ()) {
            grep { -x "$_/$bin" } split /:/, $ENV{PATH} . ':/usr/sbin'
                or return "$bin is not installed (t/bin/deps test)";
        }
        my ($what, $args) = split /:/, $n, 2;
        for my $p ($what eq 'haproxy'
                   ? map { $_ eq 'stock' ? qw(stock_rr stock_pin_a stock_pin_b)
                                         : qw(rr rr_v1 pin_a pin_b) }
                         split /,/, $args
                   : ($what)) {
            return "port " . fleet_port($p) . " ($p) is already in use"
                if port_open(fleet_port($p));
        }
        my $err = $what eq 'memcached' ? start_memcached()
                : $what eq 'redis' ? start_redis()
                : $what eq 'haproxy' ? start_haproxy(split /,/, $args)
                : start_httpd($what);
        return $err if $err;
    }
    return '';
}

# Stop NAME by its pid and wait for it; whatever is left of its process
# group gets SIGKILL (after 10 s, a grace period, not a check).  Returns
# once no process of the group is left, as fleet_kill() does, so that the
# next test finds the ports closed, not "already in use", however long a
# killed sanitizer build takes to go; 60 s is only a guard.
sub fleet_stop {
    my $name = shift;
    my $pid = delete $proc{$name} or return;
    kill 'TERM', $pid;
    my $end = time + 10;
    while (time < $end && waitpid($pid, WNOHANG) == 0) {
        sleep 0.05;
    }
    kill 'KILL', -$pid;
    waitpid($pid, 0);
    $end = time + GUARD;
    while (group_members($pid) && time < $end) {
        sleep 0.01;
    }
}

# The processes of process group PGID that have not exited yet.  A
# zombie leader may still have threads holding the listening socket:
# fleet_kill() also waits for the port itself.
sub group_members {
    my $pgid = shift;
    return procs_where(sub { $_[0] ne 'Z' && $_[2] == $pgid });
}

# SIGKILL to the whole instance at once: parent and children.  Returns
# once every process of the instance has exited and its listening socket
# is closed, so that a new connection to its port is refused.
# waitpid() on the parent alone is not that moment: a dying child tears
# down its memory before it closes its files (a sanitizer build's is
# large), and until then the kernel still completes connections into the
# listen queue of a server that will never answer them.  Bounded by the
# kernel, which finishes every SIGKILLed process; 60 s is only a guard.
sub fleet_kill {
    my $name = shift;
    my $pid = delete $proc{$name} or return;
    my $port = defined $OFFSET{$name} ? fleet_port($name) : 0;
    kill 'KILL', -$pid;
    waitpid($pid, 0);
    my $end = time + 60;
    while ((group_members($pid) || ($port && listening($port)))
           && time < $end) {
        sleep 0.01;
    }
}

# Is anything listening on 127.0.0.1:PORT?  Read from the kernel's table,
# not by connecting: a process whose main thread is a zombie may still
# have threads, and its files (the listening socket) open, until the last
# of them is gone.
sub listening {
    my $port = shift;
    my $want = sprintf ':%04X', $port;
    open my $fh, '<', '/proc/net/tcp' or return 0;
    while (my $l = <$fh>) {
        my (undef, $local, undef, $st) = split ' ', $l;
        return 1 if $st && $st eq '0A' && $local =~ /\Q$want\E$/;
    }
    return 0;
}


# Graceful restart: the old children finish what they hold, new ones
# start.  With WAIT, return as fleet_graceful_done() does.
my %graceful;       # name => [error log offset, the old children]

sub fleet_graceful {
    my ($name, $wait) = @_;
    my $pid = $proc{$name} or return "$name is not running";
    $graceful{$name} = [-s "$dir/$name/error_log", [children($pid)]];
    kill 'USR1', $pid;
    return $wait ? fleet_graceful_done($name) : '';
}

# Wait until the new generation runs and the old one is gone, so that
# every connection from then on meets the new one; '' or why not.
sub fleet_graceful_done {
    my $name = shift;
    my $g = delete $graceful{$name} or return "no graceful restart of $name";
    my ($from, $old) = @$g;
    my $log = "$dir/$name/error_log";
    return wait_ready($name, sub {
        SSLCodesTest::_read_from($log, $from) =~ /AH00489:/
            && !grep { kill 0, $_ } @$old;
    }, 'graceful restart');
}

END {
    if ($$ == $owner) {
        my $rc = $?;
        fleet_stop($_) for reverse grep { $proc{$_} } @order;
        $? = $rc;
    }
}
$SIG{INT} = $SIG{TERM} = sub { exit 1 };

# --- Configuration -------------------------------------------------------

# The instances a and b (the module on) and stock_a and stock_b (the
# module not loaded).  Options: ticket_key => 0 leaves
# SSLSessionTicketKeyFile out; server_name overrides the vhost's ServerName,
# '' leaves it out; ocsp => 'memcache' or 'redis' checks client
# certificates with OCSP (the responder on the "ocsp" port) and keeps the
# answers in that store; session_cache replaces SSLSessionCache's
# memcache:... with another; global adds lines outside the vhost.
sub write_instance {
    my ($name, %opt) = @_;
    my $port = fleet_port($name);
    my $stock = $name =~ /^stock_/;
    my $front = fleet_port($stock ? 'stock_rr' : 'rr');
    my $mods = '/usr/lib/apache2/modules';
    my $d = "$dir/$name";
    make_path($d);
    # mod_ssl's session id context is derived from the vhost's ServerName
    # and port (the address's port when ServerName is not set in the
    # vhost): every instance of one site must have the same, or no session
    # made on one resumes on another.
    my $sn = $opt{server_name} // "localhost:$front";
    $sn = $sn eq '' ? '' : "ServerName $sn";
    my $key = ($opt{ticket_key} // 1)
        ? "SSLSessionTicketKeyFile $dir/ticket.key" : '';
    my $module = $stock ? '' : <<"MOD";
LoadModule sslcodes_module $t/../.libs/mod_sslcodes.so
MOD
    my $codes = $stock ? '' : <<'CODES';
    SSLCodes on
    SSLCodesVerifyClient on
    SSLCodesErrorDocument 497 =301 https
CODES
    my $mc = fleet_port('memcached');
    my $scache = $opt{session_cache} // "memcache:127.0.0.1:$mc";
    my ($ocsp_global, $ocsp_vhost) = ('', '');
    if (my $store = $opt{ocsp}) {
        my $at = $store eq 'redis' ? fleet_port('redis') : $mc;
        my $op = fleet_port('ocsp');
        $ocsp_global = "SSLCodesOCSPCache $store:127.0.0.1:$at\n";
        # The responder answers in milliseconds: 2 s is far above that,
        # and is the figure a stalled store must not add to.
        $ocsp_vhost = "    SSLOCSPEnable leaf\n"
                    . "    SSLOCSPDefaultResponder http://127.0.0.1:$op/fleet\n"
                    . "    SSLOCSPOverrideResponder on\n"
                    . "    SSLOCSPResponderTimeout 2\n";
    }
    open my $fh, '>', "$d/httpd.conf" or die "$d/httpd.conf: $!";
    print $fh <<"CONF";
# Instance $name of the fleet (t/lib/SSLCodesFleet.pm).
ServerRoot $d
ServerName localhost
PidFile $d/httpd.pid
ErrorLog $d/error_log
LogLevel info ssl:warn
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule ssl_module $mods/mod_ssl.so
LoadModule socache_memcache_module $mods/mod_socache_memcache.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule socache_redis_module $mods/mod_socache_redis.so
LoadModule remoteip_module $mods/mod_remoteip.so
LoadModule headers_module $mods/mod_headers.so
$module
StartServers 2
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 64
MinSpareThreads 8
MaxSpareThreads 64
AcceptFilter https none
DocumentRoot $t/htdocs

LogFormat "%a %{c}a %P \\"%r\\" %>s %{SSL_SESSION_RESUMED}x %{SSL_CLIENT_VERIFY}x" fleet
CustomLog $d/access_log fleet

SSLSessionCache $scache
$ocsp_global
@{[ $opt{global} // '' ]}
SSLCertificateFile $t/pki/server.crt
SSLCertificateKeyFile $t/pki/server.key
SSLCACertificateFile $t/pki/ca.crt
SSLCARevocationFile $t/pki/ca.crl
SSLCARevocationCheck leaf no_crl_for_cert_ok

Listen 127.0.0.1:$port https
<VirtualHost 127.0.0.1:$port>
    $sn
    SSLEngine on
    $key
    RemoteIPProxyProtocol On
    Header always set X-Instance $name
$codes$ocsp_vhost</VirtualHost>
CONF
    close $fh;
}

sub write_haproxy {
    my ($cfg, @pairs) = @_;
    my $text = <<'CFG';
global
    maxconn 512
    nbthread 1

defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check 1s
    # A refused connection is tried again on the other instance.
    retries 3
    option redispatch 1
CFG
    for my $pair (@pairs) {
        my $p = $pair eq 'stock' ? 'stock_' : '';
        my ($sa, $sb) = map { fleet_port("$p$_") } qw(a b);
        my @fe = $p ? (['stock_rr', 'v2', 'a', 'b'], ['stock_pin_a', 'v2', 'a'],
                       ['stock_pin_b', 'v2', 'b'])
                    : (['rr', 'v2', 'a', 'b'], ['rr_v1', 'v1', 'a', 'b'],
                       ['pin_a', 'v2', 'a'], ['pin_b', 'v2', 'b']);
        for my $f (@fe) {
            my ($name, $v, @servers) = @$f;
            my $send = $v eq 'v1' ? 'send-proxy' : 'send-proxy-v2';
            $text .= "\nfrontend $name\n    bind 127.0.0.1:"
                   . fleet_port($name) . "\n    default_backend $name\n"
                   . "\nbackend $name\n    balance roundrobin\n"
                   # HAProxy's side of the connection is visible as such.
                   . "    source 127.0.0.2\n";
            for my $s (@servers) {
                $text .= "    server $s 127.0.0.1:" . fleet_port("$p$s")
                       . " $send"
                       . (@servers > 1 ? " check inter 200ms fall 2 rise 2" : '')
                       . "\n";
            }
        }
    }
    open my $fh, '>', $cfg or die "$cfg: $!";
    print $fh $text;
    close $fh;
}

# --- Clients -------------------------------------------------------------

# openssl s_client through PORT with ARGS (a string); returns
# { reused, status, instance, out }.  It ends when the server closes, after
# its answer; the timeout is only a guard (GUARD).
sub s_client {
    my ($port, $args) = @_;
    my $req = "printf 'GET /ok.html HTTP/1.1\\r\\nHost: localhost\\r\\n"
            . "Connection: close\\r\\n\\r\\n'";
    my $cmd = "timeout " . GUARD . " openssl s_client -connect 127.0.0.1:$port "
            . "-servername localhost -CAfile $t/pki/ca.crt -ign_eof $args";
    my $out = `$req | $cmd 2>&1`;
    # s_client writes the response and its own report to stdout through
    # separate buffers: they may interleave, even within a line.
    my ($status) = $out =~ m{HTTP/1\.1 (\d{3}) };
    my ($inst) = $out =~ /X-Instance: (\w+)/;
    return { reused => ($out =~ /Reused, TLS/ ? 1 : 0), status => $status // 0,
             instance => $inst // '', out => $out };
}

# One request over TLS through PORT, a new connection each time.  Options:
# cert (a PEM name in t/pki, without .pem), version ('1.2' or '1.3'),
# path.  Returns parse_response()'s hash plus {error}.  It reads until the
# server closes, after its answer.  The timeouts are guards, lower than
# GUARD: t/fleet/failover.t counts a request that hangs on a killed
# instance as lost once they pass, and waits for it until then (a TLS
# request through HAProxy takes milliseconds, even on a busy machine).
sub tls_request {
    my ($port, %o) = @_;
    my $path = $o{path} // '/ok.html';
    my %ssl = (PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10,
               SSL_hostname => 'localhost', SSL_verify_mode => SSL_VERIFY_PEER,
               SSL_ca_file => "$t/pki/ca.crt");
    if ($o{cert}) {
        $ssl{SSL_cert_file} = $ssl{SSL_key_file} = "$t/pki/$o{cert}.pem";
    }
    if ($o{version}) {
        $ssl{SSL_version} = $o{version} eq '1.2' ? 'TLSv1_2' : 'TLSv1_3';
    }
    my ($raw, $err) = ('', '');
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 15;
        my $s = IO::Socket::SSL->new(%ssl)
            or die "TLS: $SSL_ERROR\n";
        print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
               . "Connection: close\r\n\r\n";
        while (1) {
            my $n = sysread $s, my $buf, 65536;
            last unless $n;
            $raw .= $buf;
        }
        close $s;
        alarm 0;
        1;
    } or $err = $@ || 'failed';
    alarm 0;
    my $r = parse_response($raw);
    $r->{error} = $raw eq '' ? ($err || 'no answer') : '';
    return $r;
}

# The same guard as tls_request's, for the same reason.
sub plain_request {
    my ($port, $path) = @_;
    my ($raw) = raw_request($port, "GET $path HTTP/1.1\r\nHost: localhost\r\n"
                                   . "Connection: close\r\n\r\n",
                            timeout => 15);
    my $r = parse_response($raw);
    $r->{error} = $raw eq '' ? 'no answer' : '';
    return $r;
}

sub instance_log {
    my ($name, $file) = @_;
    open my $fh, '<', "$dir/$name/$file" or return '';
    local $/;
    return <$fh> // '';
}

sub access_lines {
    my $name = shift;
    return grep { length } split /\n/, instance_log($name, 'access_log');
}

# An instance's [error] and [warn] lines, except mod_ssl's note that it
# was built against a newer OpenSSL than the one loaded (a packaging
# matter of this machine) and the ALLOWED patterns.
sub fleet_bad_log_lines {
    my ($name, @allowed) = @_;
    return bad_log_lines(instance_log($name, 'error_log'),
                         qr/AH01882: Init: this version of mod_ssl was compiled/,
                         @allowed);
}

1;
