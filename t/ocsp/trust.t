# The shared OCSP cache never lets one vhost vouch for another that trusts
# answers differently.  An answer is kept under the certificate, the
# responder, and every setting that decides whether it is believed:
# SSLOCSPUseRequestNonce, SSLOCSPNoVerify, SSLOCSPResponderCertificateFile,
# the CAs, SSLOCSPResponseTimeSkew and SSLOCSPResponseMaxAge.
#
# 1. A replayed, validly signed "good" answer without the request's nonce:
#    a vhost without nonces accepts (and keeps) it; one with nonces still
#    refuses it with 495, also after the first vhost cached it.
# 2. For each setting, two vhosts that differ in it alone, asking one
#    responder URL: each asks the responder itself.  The control: two
#    vhosts alike share one answer.
#
# One httpd, with one vhost per case on ports of its own; responders on
# 127.0.0.1:9998 (good answers) and 9999 (replayed answers).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use SSLCodesTest;
use SSLCodesOCSP;

my $t = t_dir();
my $d = "$t/logs/ocsptrust";
mkdir $d;

# The CAs once more in another file: the same trust, another line.
{
    open my $in, '<', "$t/pki/ca.crt" or die "ca.crt: $!";
    open my $out, '>', "$d/ca-copy.crt" or die "ca-copy.crt: $!";
    print {$out} <$in>;
    close $out;
}

# Name, the first vhost's lines, the second's; each pair asks its own URL.
my @pairs = (
    ['SSLOCSPUseRequestNonce', '', 'SSLOCSPUseRequestNonce off'],
    ['SSLOCSPNoVerify', '', 'SSLOCSPNoVerify on'],
    ['SSLOCSPResponderCertificateFile', '',
     "SSLOCSPResponderCertificateFile $t/pki/ocsp-signer.crt"],
    ['SSLOCSPResponseTimeSkew', '', 'SSLOCSPResponseTimeSkew 120'],
    ['SSLOCSPResponseMaxAge', '', 'SSLOCSPResponseMaxAge 3600'],
    ['SSLCACertificateFile', '', "SSLCACertificateFile $d/ca-copy.crt"],
    ['the control: alike', '', ''],
);

plan tests => 1 + 4 + @pairs * 3 + 1;

my @ports = free_ports(2 + 2 * @pairs, 150, 199);

sub vhost {
    my ($port, $url, $lines) = @_;
    return <<"VH";
Listen 127.0.0.1:$port https
<VirtualHost 127.0.0.1:$port>
    ServerName localhost
    SSLEngine on
    SSLCodesVerifyClient on
    SSLOCSPEnable leaf
    SSLOCSPDefaultResponder $url
    SSLOCSPOverrideResponder on
    # A guard: the responders answer in milliseconds.
    SSLOCSPResponderTimeout 30
    $lines
</VirtualHost>
VH
}

my $conf = "SSLCodesOCSPCache \"shmcb:$d/ocsp(128000)\"\n"
         . vhost($ports[0], 'http://127.0.0.1:9999/replay', '')
         . vhost($ports[1], 'http://127.0.0.1:9999/replay',
                 'SSLOCSPUseRequestNonce off');
for my $i (0 .. $#pairs) {
    my ($name, $a, $b) = @{ $pairs[$i] };
    $conf .= vhost($ports[2 + 2 * $i], "http://127.0.0.1:9998/pair$i", $a)
           . vhost($ports[3 + 2 * $i], "http://127.0.0.1:9998/pair$i", $b);
}
my $h = throwaway_httpd('ocsptrust', $ports[0], '', no_vhost => 1,
                        global => $conf);
ok t_cmp($h->{ok}, 1, 'the server starts');
if (!$h->{ok}) { print map { "# $_\n" } split /\n/, $h->{log}->(); exit 1 }

sub get {
    my $port = shift;
    return curl('--http1.1', '--cert', "$t/pki/client-valid.pem",
                "https://localhost:$port/ok.html")->{status};
}

# 1. The replayed answer.
{
    my $replay = ocsp_responder(port => 9999, mode => 'replay');
    ok t_cmp(get($ports[1]), 200, 'nonce off: the replayed good answer is '
             . 'accepted');
    ok t_cmp(get($ports[0]), 495, 'nonce on: the replayed answer is refused '
             . '(495), though the other vhost cached it');
    ok t_cmp(get($ports[0]), 495, 'nonce on: ... and again');
    ok t_cmp($replay->count, 3, 'nonce on: the responder was asked each '
             . 'time; nothing came from the other vhost\'s cache');
    $replay->stop;
}

# 2. One setting apart: two questions; alike: one.  The answers are valid
#    for 31 days, past memcached's 30-day limit on relative expiry times:
#    shmcb keeps them too (the control's single question).
my $resp = ocsp_responder(port => 9998, nmin => 31 * 24 * 60);
for my $i (0 .. $#pairs) {
    my ($name, $a, $b) = @{ $pairs[$i] };
    my $before = $resp->count;
    ok t_cmp(get($ports[2 + 2 * $i]), 200, "$name: first vhost 200");
    ok t_cmp(get($ports[3 + 2 * $i]), 200, "$name: second vhost 200");
    my $want = $a eq $b ? 1 : 2;
    ok t_cmp($resp->count - $before, $want, "$name: the responder was asked "
             . ($want == 1 ? 'once: the answer is shared'
                           : 'by each: no answer is shared'));
}
$resp->stop;

$h->{stop}->();
ok t_cmp([bad_log_lines($h->{log}->(), qr/AH01882|AH00558|caught SIGTERM/)],
         [], 'no error or warn lines');
