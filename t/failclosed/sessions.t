# TLS sessions stay with the virtual hosts that check client certificates
# the way the session was checked, whatever their names, ports and
# addresses.  mod_ssl's session id context is ServerName:port, so vhosts
# that say the same ServerName share it; with a shared ticket key and
# session cache, a session verified by one would resume, verified, in the
# other.  The module stamps every session with how its vhost checks
# certificates, and a foreign stamp is never resumed; each vhost's own
# sessions still resume.  Such configurations start (no SSLCODES0007).
#
# Two layouts, each with one vhost trusting the test CA and one trusting
# another CA, all four with "ServerName localhost":
#   - two ports of one address;
#   - two addresses (127.0.0.1 and 127.0.0.2) of one port.
# Each by TLS 1.2 session id, TLS 1.2 ticket and TLS 1.3 ticket.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use IO::Socket::INET;
use SSLCodesTest;
use SSLCodesOCSP;

my @kinds = (['-tls1_2 -no_ticket', 'TLS 1.2 session id'],
             ['-tls1_2', 'TLS 1.2 ticket'], ['-tls1_3', 'TLS 1.3 ticket']);

plan tests => 2 + 2 * 2 * @kinds * 3 + 1;

my $t = t_dir();
my $dir = "$t/logs/sessions";


my ($p1, $p2, $p3) = free_ports(3, 80, 99);
mkdir $dir;
open my $key, '>', "$dir/ticket.key" or die "$dir/ticket.key: $!";
open my $rnd, '<', '/dev/urandom' or die "/dev/urandom: $!";
read($rnd, my $bytes, 48) == 48 or die 'short read';
print $key $bytes;
close $key;

sub vhost {
    my ($addr, $ca) = @_;
    return <<"VH";
Listen $addr https
<VirtualHost $addr>
    ServerName localhost
    SSLEngine on
    SSLCodesVerifyClient on
    SSLCACertificateFile $t/pki/$ca
</VirtualHost>
VH
}

# The first vhost is throwaway_httpd's own, on 127.0.0.1:$p1, trusting
# the test CA (its server-level SSLCACertificateFile).
my $h = throwaway_httpd('sessions', $p1, "    SSLCodesVerifyClient on\n",
    global => "SSLSessionTicketKeyFile $dir/ticket.key\n"
              . vhost("127.0.0.1:$p2", 'untrusted-ca.crt')
              . vhost("127.0.0.1:$p3", 'ca.crt')
              . vhost("127.0.0.2:$p3", 'untrusted-ca.crt'));
ok t_cmp($h->{ok}, 1, 'vhosts sharing ServerName localhost, with different '
         . 'CAs, start');
ok t_cmp($h->{log}->() =~ /SSLCODES0007/ ? 'refused' : 'quiet', 'quiet',
         'no SSLCODES0007');
if (!$h->{ok}) { note $h->{log}->(); exit 1 }

# openssl s_client to ADDR with ARGS: "Reused"/"New" and the status.
sub s_client {
    my ($addr, $args) = @_;
    my $req = "printf 'GET /ok.html HTTP/1.1\\r\\nHost: localhost\\r\\n"
            . "Connection: close\\r\\n\\r\\n'";
    # It ends when the server closes, after its answer; the timeout is
    # only a guard (GUARD).
    my $out = `$req | timeout @{[GUARD]} openssl s_client -connect $addr -servername localhost -CAfile $t/pki/ca.crt -ign_eof $args 2>&1`;
    my ($status) = $out =~ m{HTTP/1\.1 (\d{3}) };
    return ($out =~ /Reused, TLS/ ? 'Reused' : 'New') . ' ' . ($status // 0);
}

my @layouts = (
    ['two ports', "127.0.0.1:$p1", "127.0.0.1:$p2"],
    ['two addresses', "127.0.0.1:$p3", "127.0.0.2:$p3"],
);
my %cert = (0 => 'client-valid', 1 => 'client-untrusted');
for my $l (@layouts) {
    my ($layout, @addr) = @$l;
    for my $k (@kinds) {
        my ($args, $kind) = @$k;
        # From the first vhost to the second, and back.
        for my $from (0, 1) {
            my $to = 1 - $from;
            my $sess = "$dir/" . ($layout =~ s/ /_/gr) . "-$from"
                     . ($args =~ s/[ -]+/_/gr) . '.sess';
            my $cert = "$t/pki/$cert{$from}.pem";
            my $made = s_client($addr[$from],
                                "$args -cert $cert -sess_out $sess");
            ok t_cmp($made, 'New 200', "$layout, $kind: a session verified "
                     . "by $addr[$from]");
            ok t_cmp(s_client($addr[$from], "$args -sess_in $sess"),
                     'Reused 200', "$layout, $kind: it resumes at "
                     . "$addr[$from] (the positive control)");
            ok t_cmp(s_client($addr[$to], "$args -sess_in $sess"), 'New 496',
                     "$layout, $kind: $addr[$to], with another CA, makes a "
                     . 'full handshake and asks for a certificate');
        }
    }
}

$h->{stop}->();
ok t_cmp([bad_log_lines($h->{log}->(),
                        qr/AH01882|AH00558|caught SIGTERM/)], [],
         'no error or warn lines');
