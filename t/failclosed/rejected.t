# Fail closed on every path: a request that httpd rejects while reading it,
# on a plain connection to a TLS port or on a connection whose client
# certificate failed, keeps httpd's status and built-in page.  Core's local
# ErrorDocument never runs there (no handler: t/logs/marks stays empty);
# text and external ErrorDocuments still apply.  The access log never says
# SUCCESS for the failed certificate.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::SSL;
use IO::Select;
use Time::HiRes qw(time);
use SSLCodesTest;

my $t = t_dir();
my $H = "Host: localhost\r\n";

# Every way httpd 2.4's request reader (server/protocol.c) turns a request
# down, with the status it gives.
my @cases = (
    ['bad Content-Length', "GET /m HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n", 400],
    ['bad Transfer-Encoding', "POST /m HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n", 400],
    ['HTTP/1.1 without Host', "GET /m HTTP/1.1\r\n\r\n", 400],
    ['bad Host', "GET /m HTTP/1.1\r\nHost: bad/host\r\n\r\n", 400],
    ['field over LimitRequestFieldSize', "GET /m HTTP/1.1\r\n${H}X-Big: " . ('a' x 600) . "\r\n\r\n", 400],
    ['more than LimitRequestFields', "GET /m HTTP/1.1\r\n${H}" . join('', map { "X-$_: v\r\n" } 1 .. 12) . "\r\n", 400],
    ['field without colon', "GET /m HTTP/1.1\r\n${H}NoColon\r\n\r\n", 400],
    ['space in field name', "GET /m HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n", 400],
    ['NUL in field value', "GET /m HTTP/1.1\r\n${H}X-A: b\0c\r\n\r\n", 400],
    ['text after the protocol', "GET /m HTTP/1.1 x\r\n${H}\r\n", 400],
    ['bad protocol', "GET /m HTTP/1.x\r\n${H}\r\n", 400],
    ['fragment in target', "GET /m#f HTTP/1.1\r\n${H}\r\n", 400],
    ['relative target', "GET m HTTP/1.1\r\n${H}\r\n", 400],
    ['control byte in target', "GET /a\x01b HTTP/1.1\r\n${H}\r\n", 400],
    ['request line over LimitRequestLine', "GET /" . ('a' x 600) . " HTTP/1.1\r\n${H}\r\n", 414],
    ['unknown Expect', "GET /m HTTP/1.1\r\n${H}Expect: tea\r\n\r\n", 417],
    ['unregistered method', "FOO /m HTTP/1.1\r\n${H}\r\n", 501],
    ['headers never finished', "GET /m HTTP/1.1\r\n$H", 408],
);
my @transports = (['plain', undef], ['TLS 1.2', 'TLSv1_2'], ['TLS 1.3', 'TLSv1_3']);

# Where each vhost's document comes from, and what it then sends.
my %expect = (
    fc_local  => 'builtin',   # vhost-level local URLs: refused
    fc_server => 'builtin',   # server-level local URLs: refused (400: text)
    fc_text   => 'text',
    fc_ext    => 'external',
);
my @short = grep { $_->[0] =~ /Content-Length|over LimitRequestLine|Expect/ } @cases;
my %which = (fc_local => \@cases, fc_server => \@cases,
             fc_text => \@short, fc_ext => \@short);

my $n = 0;
$n += @{$which{$_}} * @transports * 5 for keys %which;
plan tests => $n + 4;

# Send RAW on a new connection, plain or TLS with an expired client
# certificate; return the response and whether the server closed.
sub exchange {
    my ($port, $tls, $raw) = @_;
    my $sock;
    if ($tls) {
        $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
            SSL_version => $tls, SSL_verify_mode => SSL_VERIFY_NONE,
            SSL_hostname => 'localhost',
            SSL_cert_file => "$t/pki/client-expired.crt",
            SSL_key_file => "$t/pki/client-expired.key")
            or return ("TLS failed: $SSL_ERROR", 0);
    }
    else {
        $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
            or die "connect: $!";
    }
    syswrite $sock, $raw;
    # Until the server closes or the response is complete; GUARD only
    # bounds a server that does neither.
    my ($out, $closed, $end) = ('', 0, time + GUARD);
    while (time < $end) {
        my $sel = IO::Select->new($sock);
        last unless ($sock->can("pending") && $sock->pending) || $sel->can_read($end - time);
        my $got = sysread $sock, my $buf, 65536;
        if (!$got) { $closed = 1; last }
        $out .= $buf;
        # Some rejections keep the connection: stop at the response's end.
        my ($head, $body) = split /\r\n\r\n/, $out, 2;
        last if defined $body && $head =~ /^Content-Length: (\d+)/mi
                && length($body) >= $1;
    }
    close $sock;
    return ($out, $closed);
}

sub marks { my $f = "$t/logs/marks"; -e $f ? -s $f : 0 }
sub fc_log_since {
    my $off = shift;
    open my $fh, '<', "$t/logs/fc_log" or return '';
    seek $fh, $off, 0;
    local $/;
    return <$fh> // '';
}
sub fc_log_mark { my $f = "$t/logs/fc_log"; -e $f ? -s $f : 0 }

my $lmark = log_mark();
for my $vh (sort keys %which) {
    my $port = port($vh);
    for my $tr (@transports) {
        my ($tname, $tls) = @$tr;
        for my $c (@{$which{$vh}}) {
            my ($cname, $raw, $status) = @$c;
            my $name = "$vh, $tname, $cname";
            my ($m, $am) = (marks(), fc_log_mark());
            my ($out) = exchange($port, $tls, $raw);
            my $r = parse_response($out);
            my $kind = $expect{$vh};
            # fc_server has a server-level text for 400 (extra.conf.in).
            $kind = 'servertext' if $vh eq 'fc_server' && $status == 400;
            if ($kind eq 'external') {
                ok t_cmp($r->{status}, 302, "$name: 302");
                ok t_cmp($r->{headers}{location}, "https://errors.example/$status",
                         "$name: Location");
            }
            else {
                ok t_cmp($r->{status}, $status, "$name: status $status");
                my $want = $kind eq 'text' ? qr/\Afc text $status\z/
                         : $kind eq 'servertext' ? qr/\Acore 400 document\z/
                         : qr{\A<!DOCTYPE HTML PUBLIC .*<title>$status [^<]+</title>}s;
                ok t_cmp($r->{body}, $want, "$name: httpd's own page or the text");
            }
            ok t_cmp($r->{body} =~ /HANDLER RAN/ ? 'ran' : 'not run', 'not run',
                     "$name: no handler in the body");
            ok t_cmp(marks(), $m, "$name: the document's handler did not run");
            # The request's line in fc_log, which is written after the
            # answer and may lag behind it.
            my $log = '';
            wait_for(sub { ($log = fc_log_since($am)) =~ /\n/ });
            my $verify = $tls ? qr/\[FAILED:certificate has expired\]/ : qr/\[-\]/;
            ok t_cmp($log, qr/^$port \Q@{[$kind eq 'external' ? 302 : $status]}\E $verify/m,
                     "$name: access log status and SSL_CLIENT_VERIFY");
        }
    }
}

my $log = log_since($lmark);
ok t_cmp($log, qr/SSLCODES0107: not running ErrorDocument \/cgi\/mark\.cgi for status 400 on a plain HTTP connection to a TLS port/,
         'the refusal is logged (plain)');
ok t_cmp($log, qr/SSLCODES0107: not running ErrorDocument \/cgi\/mark\.cgi for status 414 on a connection whose client certificate failed/,
         'the refusal is logged (failed certificate)');
ok t_cmp($log =~ /SUCCESS/ ? 'SUCCESS' : 'never', 'never',
         'nothing in the error log says SUCCESS');
ok t_cmp(join("\n", bad_log_lines($log, qr/AH0\d+|SSL library error|SSL handshake/)), '',
         'no unexpected error or warn lines');
