# Answer counters in server-status: every answer counted once, across all
# child processes, in the HTML table and in ?auto; kept across a graceful
# restart, reset by a full one; and the module works without mod_status.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use SSLCodesTest;

my $N = 20;
my $t = t_dir();
my $status = port('status');
my $on = port('tls_on');            # 497; b.test: SSLCodes off (400)
my $nginx = port('docs_nginx');     # 497 in nginx mode: 400 on the wire
my $cert = port('cert_on');         # 496 without, 495 with a bad cert

my $P497 = '<html><body>The plain HTTP request was sent to HTTPS port</body></html>';
my $P496 = '<html><body>A client certificate is required</body></html>';
my $P495 = '<html><body>The SSL certificate error</body></html>';
# ?auto name => HTML table code
my %slots = (Plain400 => 400, 444 => 444, 494 => 494, 495 => 495,
             496 => 496, 497 => 497, 499 => 499);
my @kinds = sort keys %slots;

plan tests => 34 + 4 * @kinds;

sub note { print map { "# $_\n" } @_ }

# --- reading server-status -----------------------------------------------

# HTTP/1.0, so that the body is never chunked: a chunk boundary can fall
# anywhere in the page, depending on how the server's writes go out.
sub fetch_status {
    my $path = shift;
    return parse_response(scalar raw_request($status,
        "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n"));
}

# { auto => {name => n}, html => {code => n}, gen => config generation }
sub counters {
    my $auto = fetch_status('/server-status?auto');
    my $html = fetch_status('/server-status');
    my %a = $auto->{body} =~ /^SSLCodes(\w+): (\d+)$/mg;
    my ($table) = $html->{body} =~ m{<h2>mod_sslcodes answers</h2>(.*?)</table>}s;
    my %h = ($table // '') =~ m{<tr><td>(\d+)</td><td>(\d+)</td><td>[^<]+</td></tr>}g;
    my ($gen) = $auto->{body} =~ /^ParentServerConfigGeneration: (\d+)$/m;
    return { auto => \%a, html => \%h, gen => $gen // -1,
             auto_r => $auto, html_r => $html };
}

# Both views agree, and each kind moved by what DELTA says (0 if absent).
sub check_counts {
    my ($before, $after, $delta, $what) = @_;
    for my $k (@kinds) {
        my $want = ($before->{auto}{$k} // 0) + ($delta->{$k} // 0);
        ok t_cmp($after->{auto}{$k}, $want, "$what: ?auto SSLCodes$k");
        ok t_cmp($after->{html}{$slots{$k}}, $want,
                 "$what: HTML row $slots{$k}");
    }
}

# --- sending answers -----------------------------------------------------

# N connections at once, so that more than one child takes them.
sub burst {
    my ($port, $req, $n) = @_;
    my @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Proto => 'tcp') or die "connect $port: $!"
    } 1 .. $n;
    syswrite $_, $req for @socks;
    my @out;
    for my $s (@socks) {
        # Until the server closes, as it does after each of these answers;
        # GUARD only bounds a server that never does.
        my ($buf, $sel, $end) = ('', IO::Select->new($s), time + GUARD);
        while ($sel->can_read($end - time)) {
            my $k = sysread $s, my $b, 65536;
            last unless $k;
            $buf .= $b;
        }
        close $s;
        push @out, parse_response($buf);
    }
    return @out;
}

# How many of RESPONSES match STATUS_LINE, BODY (a string or regex) and
# carry Connection: close.
sub good {
    my ($status_line, $body, @responses) = @_;
    return scalar grep {
        $_->{status_line} eq $status_line
            && (ref $body ? $_->{body} =~ $body : $_->{body} eq $body)
            && ($_->{headers}{connection} // '') eq 'close'
    } @responses;
}

# Wait until the log after MARK holds N lines with TAG (each written for
# an answer already received), or GUARD passes; return the log.
sub wait_count {
    my ($mark, $tag, $n) = @_;
    my $log = '';
    wait_for(sub { $log = log_since($mark); (() = $log =~ /\Q$tag\E/g) >= $n });
    return $log;
}

sub pids_in {
    my ($log, $tag) = @_;
    my %p = map { $_ => 1 } $log =~ /\[pid (\d+)(?::tid \d+)?\][^\n]*\Q$tag\E/g;
    return scalar keys %p;
}

# Plain requests to the 497 vhost in bursts until at least two children
# have answered (or 10 bursts).  Returns the number sent and answered.
sub plain_497_bursts {
    my ($sent, $good, $procs) = (0, 0, 0);
    my $mark = log_mark();
    my $req = "GET /count?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for (1 .. 10) {
        my @r = burst($on, $req, $N);
        $sent += @r;
        $good += good('HTTP/1.1 497 HTTP Request Sent to HTTPS Port', $P497,
                      @r);
        $procs = pids_in(wait_count($mark, 'SSLCODES0101', $sent),
                         'SSLCODES0101');
        last if $procs >= 2;
    }
    return ($sent, $good, $procs);
}

sub parent_pid {
    open my $fh, '<', "$t/logs/httpd.pid" or die "pid file: $!";
    chomp(my $pid = <$fh>);
    return $pid;
}


# Signal the suite's own httpd (as t/abuse/soak.t does) and wait for the
# restart to be over: the new generation answers server-status, and every
# child of the old one has exited (the parent reaps them), so that all
# traffic from then on meets the new generation alone.  Events, not a
# pause; GUARD (each) only bounds a restart that never completes.
sub restart {
    my $sig = shift;
    my $gen = counters()->{gen};
    my $parent = parent_pid();
    my @old = children($parent);
    kill $sig, $parent;
    my $c;
    wait_for(sub { $c = eval { counters() }; $c && $c->{gen} > $gen });
    wait_for(sub { !grep { kill 0, $_ } @old });
    return counters();
}

# --- counting ------------------------------------------------------------

my $mark = log_mark();
my $before = counters();

ok t_cmp($before->{auto_r}{status_line}, 'HTTP/1.1 200 OK', '?auto: 200');
ok t_cmp($before->{auto_r}{headers}{'content-type'}, qr{^text/plain},
         '?auto: text/plain');
ok t_cmp($before->{html_r}{status_line}, 'HTTP/1.1 200 OK', 'HTML: 200');
ok t_cmp($before->{html_r}{headers}{'content-type'}, qr{^text/html},
         'HTML: text/html');
ok t_cmp(join(' ', sort keys %{$before->{auto}}), join(' ', @kinds),
         '?auto: one line per code');
ok t_cmp(join(' ', sort keys %{$before->{html}}),
         join(' ', sort map { $slots{$_} } @kinds), 'HTML: one row per code');
ok t_cmp($before->{html_r}{body},
         qr{<tr><th>Code</th><th>Answers</th><th>Meaning</th></tr>\n<tr><td>400</td><td>\d+</td><td>Plain HTTP whose Host chose a virtual host with SSLCodes off \(mod_ssl's 400\)</td></tr>},
         'HTML: table layout');

my ($n497, $g497, $procs) = plain_497_bursts();
note "497: $n497 requests, answered by $procs processes";
ok t_cmp($g497, $n497, '497: every answer is the 497 page, closed');
ok t_cmp($procs >= 2 ? 1 : 0, 1, "497: answered by more than one child ($procs)");

my @r = burst($nginx, "GET /count HTTP/1.1\r\nHost: localhost\r\n\r\n", $N);
ok t_cmp(good('HTTP/1.1 400 Bad Request',
              qr{^<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title>},
              @r), $N, '497 in nginx mode: 400 on the wire');

@r = burst($on, "GET /count HTTP/1.1\r\nHost: b.test\r\n\r\n", $N);
ok t_cmp(good('HTTP/1.1 400 Bad Request', 'core 400 document', @r), $N,
         "SSLCodes off: mod_ssl's 400");

my ($g496, $g495) = (0, 0);
for (1 .. $N) {
    my $c = curl('--http1.1', "https://localhost:$cert/ok.html");
    $g496++ if $c->{status_line} eq 'HTTP/1.1 496 SSL Certificate Required'
               && $c->{body} eq $P496;
    $c = curl('--http1.1', '--cert', "$t/pki/client-expired.pem",
              "https://localhost:$cert/ok.html");
    $g495++ if $c->{status_line} eq 'HTTP/1.1 495 SSL Certificate Error'
               && $c->{body} eq $P495
               && $c->{headers}{'x-client-verify'}
                  eq 'FAILED:certificate has expired';
}
ok t_cmp($g496, $N, '496: every answer is the 496 page');
ok t_cmp($g495, $N, '495: every answer is the 495 page, FAILED');

# A TLS request that is served is not counted.
my $c = curl('--http1.1', "https://localhost:$on/ok.html");
ok t_cmp("$c->{status} $c->{body}", "200 ok\n", 'TLS: served');

my $log = wait_count($mark, 'SSLCODES0101', $n497 + 3 * $N);
my $events = () = $log =~ /SSLCODES0101/g;
ok t_cmp($events, $n497 + 3 * $N, 'one SSLCODES0101 line per 49x answer');
my $after = counters();
my %delta = (497 => $n497 + $N, Plain400 => $N, 496 => $N, 495 => $N);
check_counts($before, $after, \%delta, 'after the requests');

# --- graceful restart: kept ----------------------------------------------

my $g = restart('USR1');
ok t_cmp($g->{gen}, $after->{gen} + 1, 'graceful restart: a new generation');
check_counts($after, $g, {}, 'after a graceful restart');
@r = burst($on, "GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n", $N);
ok t_cmp(good('HTTP/1.1 497 HTTP Request Sent to HTTPS Port', $P497, @r), $N,
         'new generation: 497');
my $g2 = counters();
ok t_cmp($g2->{auto}{497}, $g->{auto}{497} + $N,
         'new generation counts on (?auto)');
ok t_cmp($g2->{html}{497}, $g->{html}{497} + $N,
         'new generation counts on (HTML)');

# --- full restart: reset, as the scoreboard is ---------------------------

my $f = restart('HUP');
ok t_cmp($f->{gen} > $g2->{gen} ? 1 : 0, 1, 'full restart: a new generation');
ok t_cmp(join(' ', map { "$_=$f->{auto}{$_}" } @kinds),
         join(' ', map { "$_=0" } @kinds), 'full restart: ?auto all 0');
ok t_cmp(join(' ', map { "$_=$f->{html}{$_}" } sort values %slots),
         join(' ', map { "$_=0" } sort values %slots),
         'full restart: HTML all 0');
@r = burst($on, "GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n", $N);
my $f2 = counters();
ok t_cmp("$f2->{auto}{497} $f2->{html}{497}", "$N $N",
         'after a full restart: counts from 0');

# A restart reloads the configuration, and mod_ssl repeats its startup
# warnings: this machine's OpenSSL is older than the one mod_ssl was built
# with, and the test certificate does not name every test vhost.  Under
# prefork, mod_http2 repeats that it is inactive.  A full restart stops
# the event MPM's children at once: a worker that closes a connection
# after its child's listener has gone says so (AH03092, core's message).
my @startup = (qr/\[ssl:warn\].*AH01882: /, qr/\[ssl:warn\].*AH01909: /,
               qr/\[http2:warn\].*AH10034: /,
               qr/\[mpm_event:error\].*AH03092: process_lingering_close/);
my @bad = bad_log_lines(log_since($mark), @startup);
ok t_cmp(scalar(@bad), 0, 'no unexpected error or warn lines')
    or note @bad;

# --- without mod_status --------------------------------------------------

# A server of its own, configured as t/foundation/config_errors.t does,
# with mod_ssl and the module but no mod_status.
sub free_port {
    for my $p (Apache::Test::vars('port') + 90 .. Apache::Test::vars('port') + 99) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Listen => 1,
                                      ReuseAddr => 1) or next;
        close $s;
        return $p;
    }
    die 'no free port';
}

my $mods = '/usr/lib/apache2/modules';
my $port = free_port();
my $conf = "$t/logs/nostatus.conf";
my $elog = "$t/logs/nostatus_error_log";
my $pidf = "$t/logs/nostatus.pid";
unlink $elog, $pidf;
open my $fh, '>', $conf or die "$conf: $!";
print $fh <<"CONF";
ServerRoot $t
ServerName localhost
DefaultRuntimeDir $t/logs
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule ssl_module $mods/mod_ssl.so
LoadModule sslcodes_module $t/../.libs/mod_sslcodes.so
PidFile $pidf
ErrorLog $elog
LogLevel info
DocumentRoot $t/htdocs
<Directory $t/htdocs>
    Require all granted
</Directory>
StartServers 2
Listen 127.0.0.1:$port https
SSLRandomSeed startup builtin
SSLSessionCache "shmcb:$t/logs/nostatus_scache(512000)"
SSLCertificateFile $t/pki/server.crt
SSLCertificateKeyFile $t/pki/server.key
<VirtualHost 127.0.0.1:$port>
    SSLEngine on
    SSLCodes on
</VirtualHost>
CONF
close $fh;

my $httpd = Apache::Test::vars('httpd');
my $out = `$httpd -f $conf -k start 2>&1`;
my $rc = $? >> 8;
ok t_cmp($rc, 0, "without mod_status: httpd starts ($out)");
# Up once the parent has written its pid file and logged that it runs
# (AH00489, after the listener is open: connections wait for a child from
# then on).  Events, not a pause; skipped when it did not start.
if ($rc == 0) {
    wait_for(sub { -s $pidf });
    wait_for(sub {
        open my $el, '<', $elog or return 0;
        local $/;
        (<$el> // '') =~ /AH00489:/;
    });
}

my ($raw) = raw_request($port, "GET /x?y=1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
my $p = parse_response($raw);
ok t_cmp($p->{status_line}, 'HTTP/1.1 497 HTTP Request Sent to HTTPS Port',
         'without mod_status: 497');
ok t_cmp($p->{body}, $P497, 'without mod_status: 497 page');
ok t_cmp($p->{headers}{connection}, 'close', 'without mod_status: closed');
$c = curl('--http1.1', "https://localhost:$port/ok.html");
ok t_cmp("$c->{status} $c->{body}", "200 ok\n", 'without mod_status: TLS served');
$c = curl('--http1.1', "https://localhost:$port/server-status");
ok t_cmp($c->{status}, 404, 'without mod_status: no server-status');

open my $pf, '<', $pidf or die "$pidf: $!";
chomp(my $npid = <$pf>);
kill 'TERM', $npid;
# Until it has exited; GUARD only bounds a server that never stops.
wait_for(sub { !kill 0, $npid });
ok t_cmp(kill(0, $npid), 0, 'without mod_status: stopped');

open my $el, '<', $elog or die "$elog: $!";
my $nlog = do { local $/; <$el> };
ok t_cmp($nlog, qr/SSLCODES0001: mod_sslcodes\/\S+ loaded/,
         'without mod_status: startup line');
ok t_cmp($nlog, qr/SSLCODES0101: client sent plain HTTP request to HTTPS port/,
         'without mod_status: 497 logged');
@bad = bad_log_lines($nlog, $startup[0]);
ok t_cmp(scalar(@bad), 0, 'without mod_status: no error or warn lines')
    or note @bad;
