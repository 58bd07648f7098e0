# Session resumption across the fleet.  The instances share TLS session
# state (SSLSessionTicketKeyFile, and SSLSessionCache on memcached), so a
# verified session made on one resumes on the other: by TLS 1.2 session
# id, TLS 1.2 ticket and TLS 1.3 ticket.  A session whose verification
# failed is never resumed into a served request, on either instance.
# HAProxy's pin_a and pin_b frontends reach one instance each, so which
# instance makes and which resumes a session is certain.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use SSLCodesTest;
use SSLCodesFleet;

my @kinds = (['-tls1_2 -no_ticket', 'TLS 1.2 session id'],
             ['-tls1_2', 'TLS 1.2 ticket'], ['-tls1_3', 'TLS 1.3 ticket']);

plan tests => 1 + @kinds * (2 * 3 + 1 + 2 * 2) + 2;

my $err = fleet_start('memcached', 'a', 'b', 'haproxy:mod');
ok t_cmp($err, '', 'the fleet started: memcached, instances a and b, HAProxy');
if ($err) { note $err; exit 1 }

my $t = t_dir();
my $dir = fleet_dir();
my %pin = (a => fleet_port('pin_a'), b => fleet_port('pin_b'));

sub outcome {
    my $r = shift;
    return ($r->{reused} ? 'Reused' : 'New') . " $r->{status} $r->{instance}";
}

# The positive control: without it, "never resumed" below proves nothing.
for my $k (@kinds) {
    my ($args, $kind) = @$k;
    for my $dir_ (['a', 'b'], ['b', 'a']) {
        my ($from, $to) = @$dir_;
        my $sess = "$dir/valid-$from" . ($args =~ s/[ -]+/_/gr) . '.sess';
        my $first = s_client($pin{$from},
                             "$args -cert $t/pki/client-valid.pem -sess_out $sess");
        note $first->{out} if outcome($first) ne "New 200 $from";
        ok t_cmp(outcome($first), "New 200 $from",
                 "$kind, valid certificate: made on $from");
        my $again = s_client($pin{$to}, "$args -sess_in $sess");
        ok t_cmp(outcome($again), "Reused 200 $to",
                 "$kind, valid certificate: resumed on $to");
        my $same = s_client($pin{$from}, "$args -sess_in $sess");
        ok t_cmp(outcome($same), "Reused 200 $from",
                 "$kind, valid certificate: resumed on $from too");
    }
}

# A failed verification on a: the session may come back on a or b only as
# a full handshake, which verifies again (495 with the certificate, 496
# without), never as "Reused" with a served request.
for my $k (@kinds) {
    my ($args, $kind) = @$k;
    my $sess = "$dir/failed" . ($args =~ s/[ -]+/_/gr) . '.sess';
    my $first = s_client($pin{a}, "$args -cert $t/pki/client-expired.pem "
                                  . "-sess_out $sess");
    ok t_cmp(outcome($first), 'New 495 a',
             "$kind, expired certificate: 495 on a");
    my $ticket = -s $sess ? `openssl sess_id -in $sess -noout -text 2>&1` : '';
    note "$kind: the failed session " . (!-s $sess ? 'was not saved'
         : $ticket =~ /TLS session ticket:\n\s+0000/ ? 'carries a ticket'
         : 'carries no ticket');
    for my $to (qw(b a)) {
        for my $with (['with the certificate',
                       "-cert $t/pki/client-expired.pem", 495],
                      ['without a certificate', '', 496]) {
            my ($how, $cert, $code) = @$with;
            # No session to offer (TLS 1.3 issues no ticket for it) means
            # a full handshake too.
            my $in = -s $sess ? "-sess_in $sess" : '';
            my $again = s_client($pin{$to}, "$args $cert $in");
            ok t_cmp(outcome($again), "New $code $to",
                     "$kind, failed on a, offered to $to $how: full "
                     . "handshake, $code");
        }
    }
}

# The logs agree: b saw resumed sessions with SUCCESS, and no resumed
# session was ever served anything but 200 with SUCCESS.
my @resumed = grep { / Resumed / } map { access_lines($_) } qw(a b);
my @bad = grep { !/" 200 Resumed SUCCESS$/ } @resumed;
ok t_cmp(scalar(@resumed) >= 12 && !@bad ? 1 : 0, 1,
         scalar(@resumed) . " resumed requests in the access logs, each 200 "
         . "with SUCCESS" . (@bad ? ": @bad" : ''));
ok t_cmp([map { fleet_bad_log_lines($_) } qw(a b)], [],
         'no error or warn lines on a or b');
