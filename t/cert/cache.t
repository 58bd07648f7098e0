# What a per-location SSLCodesVerifyClient protects is never stored by a
# cache, and never served from one to a client the decision refuses,
# whatever route the protected content takes into a response.
#
# The matrix:
# - protection by <Location>, <Directory>, <Files> and .htaccess (and a
#   <Location> in front of mod_proxy);
# - every httpd module that builds one URL's answer from another: the
#   request itself, mod_dir's index (a fast internal redirect), MultiViews
#   and type maps (mod_negotiation), an SSI include, mod_rewrite ([PT], and
#   a per-directory rule's internal redirect), mod_alias, mod_userdir,
#   ErrorDocument, mod_actions, mod_speling, mod_autoindex and mod_proxy;
# - mod_cache with mod_cache_disk and mod_cache_socache, CacheQuickHandler
#   on and off, every response with "Vary: User-Agent";
# - HTTP/1.1 and HTTP/2.
#
# For each: a certificate holder first warms every cache (and must see the
# protected content: without that the rest proves nothing), then a client
# without a certificate, and one with a failed certificate, ask the same.
# Neither may see anything protected, and the access log says what went on
# the wire.  Unprotected responses carry no caching header the module
# added, and are served from the cache (the positive control).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use File::Path qw(make_path remove_tree);
use List::Util qw(sum);
use IO::Socket::INET;
use SSLCodesTest;
use SSLCodesOCSP;

my $t = t_dir();
my $d = "$t/logs/cachematrix";
my $h = "$d/htdocs";
my @sources = qw(loc dir files hta);

# Routes: name, URL (%s is the source), the sources it applies to, and
# what the certificate holder must get (a marker in the body, or a status).
my %secret = map { $_ => "SECRET-$_" } @sources, 'px';
my @routes = (
    ['request', '/%s/secret.html', [@sources], 'SECRET-%s'],
    ['mod_dir index', '/%s/', [@sources], 'SECRET-%s-index'],
    ['MultiViews', '/%s/secret', [@sources], 'SECRET-%s'],
    ['type map', '/%s/map.var', [@sources], 'SECRET-%s'],
    ['SSI include', '/pub/inc-%s.shtml', [@sources], 'SECRET-%s'],
    ['RewriteRule [PT]', '/rw/%s', [@sources], 'SECRET-%s'],
    ['per-directory RewriteRule', '/pub/rwdir/%s', [@sources], 'SECRET-%s'],
    # A <Location> protects URLs: another URL for the same file is not
    # under it (as in nginx), so Alias and UserDir test the others.
    ['Alias', '/al/%s/secret.html', [qw(dir files hta)], 'SECRET-%s'],
    ['UserDir', '/~%s/secret.html', [qw(dir files hta)], 'SECRET-%s'],
    ['ErrorDocument', '/err/%s/missing', [@sources], 'SECRET-%s'],
    ['Action', '/act/%s/x', [@sources], 'SECRET-%s'],
    ['mod_speling', '/%s/Secret.html', [@sources], 'status 301'],
    # The protected request's answer comes from an unprotected fast
    # redirect: mod_dir's FallbackResource and an absolute DirectoryIndex.
    ['FallbackResource', '/%s/fb/nothing', [qw(loc dir hta)], 'FALLBACK'],
    ['absolute DirectoryIndex', '/%s/abs/', [qw(loc dir hta)], 'FALLBACK'],
    # An ErrorDocument that is a directory with a protected index, and a
    # per-directory rewrite into one.
    ['ErrorDocument to an index', '/erridx/%s/missing', [@sources],
     'SECRET-%s-index'],
    ['per-directory RewriteRule to an index', '/pub/rwidx/%s', [@sources],
     'SECRET-%s-index'],
    ['mod_autoindex', '/%s/sub/', [@sources], 'secret.html'],
    ['ProxyPass', '/px/secret.html', ['px'], 'SECRET-px'],
);
# Cache, quick handler, the vhost's own SSLCodesVerifyClient, and the
# routes asked there.  Without a vhost-level mode, only the locations
# decide (the setup where a fast redirect or an include used to leak); with
# "optional" for the site and "on" for parts (the nginx mapping's recipe),
# the requests that only inherit the site's mode must stay cacheable.
my @caches = (['disk', 'on', 'off', 'all'], ['disk', 'off', 'off', 'all'],
              ['socache', 'on', 'off', 'all'],
              ['socache', 'off', 'off', 'all'],
              ['disk', 'on', 'optional', 'some']);
my @protos = (['--http1.1', 'HTTP/1.1'], ['--http2', 'HTTP/2']);

my @cases;
for my $r (@routes) {
    my ($name, $url, $srcs, $want) = @$r;
    push @cases, map { [$name, $url =~ /%s/ ? sprintf($url, $_) : $url, $_,
                        $want =~ /%s/ ? sprintf($want, $_) : $want] } @$srcs;
}

my @some = grep { $_->[0] =~ /^(?:request|mod_dir index|SSI include)$/ }
           @cases;
sub cases_of { $_[0]->[3] eq 'all' ? @cases : @some }

plan tests => 1 + sum(map { 2 + @protos * (cases_of($_) * 4 + 1) } @caches)
              + 1;

# --- The documents --------------------------------------------------------

sub put {
    my ($file, $text) = @_;
    my ($dir) = $file =~ m{^(.*)/};
    make_path($dir);
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh or die "$file: $!";
    # A day old: mod_cache's heuristic freshness (a tenth of the age since
    # Last-Modified) then keeps it for hours, not for no time at all.
    my $old = time - 86400;
    utime $old, $old, $file;
}

remove_tree($d);
make_path("$d/cache_disk");
put("$h/pub/page.html", "public page\n");
put("$h/pub/fallback.html", "<p>FALLBACK page</p>\n");
put("$h/pub/500.html", "<p>the 500 document</p>\n");
put("$h/pub/rwidx/.keep", '');
put("$h/pub/rwdir/.keep", '');
for my $s (@sources) {
    put("$h/$s/secret.html", "<p>SECRET-$s</p>\n");
    put("$h/$s/index.html", "<p>SECRET-$s-index</p>\n");
    put("$h/$s/sub/secret.html", "<p>SECRET-$s-sub</p>\n");
    put("$h/$s/abs/.keep", '');
    put("$h/$s/fb/.keep", '');
    put("$h/$s/map.var", "URI: map\n\nURI: secret.html\nContent-Type: "
                        . "text/html\n");
    put("$h/pub/inc-$s.shtml", "page of $s: <!--#include virtual=\"/$s/"
                              . "secret.html\" --> end\n");
}
put("$h/hta/.htaccess", "SSLCodesVerifyClient on\n");
put("$h/px-backend/secret.html", "<p>SECRET-px</p>\n");

# --- The server -----------------------------------------------------------

my ($back, @ports) = free_ports(1 + @caches, 100, 140);

my $global = <<"CONF";
AddType text/html .html .shtml
AddHandler type-map .var
AddOutputFilter INCLUDES .shtml
Protocols h2 http/1.1
DirectoryIndex index.html
DocumentRoot $h
CacheRoot $d/cache_disk
CacheSocache shmcb
CacheHeader on
CacheDetailHeader on
CacheDefaultExpire 600
CacheIgnoreNoLastMod on
LogFormat "%{X-Req}i %>s" matrix
CustomLog $d/access_log matrix
# Every response may be cached and varies on User-Agent: a cache keeps
# what it is allowed to, so a test that finds nothing kept proves it.
Header always merge Vary User-Agent
<Directory $h>
    Options +MultiViews +Includes +Indexes
    AllowOverride AuthConfig
    AcceptPathInfo On
    CheckSpelling On
    CheckCaseOnly On
</Directory>
<Directory $h/dir>
    SSLCodesVerifyClient on
</Directory>
<Directory $h/files>
    <FilesMatch "^(secret|index)\\.html\$">
        SSLCodesVerifyClient on
    </FilesMatch>
</Directory>
<Directory $h/pub/rwdir>
    RewriteEngine on
    RewriteRule ^(\\w+)\$ /\$1/secret.html [L]
</Directory>
<Directory $h/pub/rwidx>
    RewriteEngine on
    RewriteRule ^(\\w+)\$ /\$1/ [L]
</Directory>
<DirectoryMatch "^$h/\\w+/fb">
    FallbackResource /pub/fallback.html
</DirectoryMatch>
<DirectoryMatch "^$h/\\w+/abs">
    DirectoryIndex /pub/fallback.html
</DirectoryMatch>
Alias /al $h
UserDir $h/*
ProxyPass /px/ http://127.0.0.1:$back/px-backend/

# The proxy's backend: plain HTTP, no certificates.
Listen 127.0.0.1:$back
<VirtualHost 127.0.0.1:$back>
    ServerName localhost
</VirtualHost>
CONF

sub vhost {
    my ($port, $cache, $quick, $mode) = @_;
    my $errdocs = join '', map {
        "    <Location /err/$_>\n        ErrorDocument 404 /$_/secret.html\n"
      . "    </Location>\n    <Location /erridx/$_>\n        ErrorDocument 404 "
      . "/$_/\n    </Location>\n    <Location /act/$_>\n        SetHandler "
      . "act-$_\n        Action act-$_ /$_/secret.html virtual\n"
      . "    </Location>\n"
    } @sources;
    # Half the vhosts have a local ErrorDocument 500 (the slot a 49x shares
    # in core): a refusal passed on by mod_dir goes through it there.
    $errdocs .= "    ErrorDocument 500 /pub/500.html\n" if $quick eq 'on';
    return <<"VH";
Listen 127.0.0.1:$port https
<VirtualHost 127.0.0.1:$port>
    ServerName localhost
    SSLEngine on
    SSLCodesVerifyClient $mode
    SSLCodesErrorDocument 495 496 default
    CacheQuickHandler $quick
    CacheEnable $cache /
    RewriteEngine on
    RewriteRule ^/rw/(\\w+)\$ /\$1/secret.html [PT]
    <Location /loc>
        SSLCodesVerifyClient on
    </Location>
    <Location /px>
        SSLCodesVerifyClient on
    </Location>
$errdocs</VirtualHost>
VH
}

my $srv = throwaway_httpd('cachematrix', $ports[0], '', no_vhost => 1,
    modules => [qw(dir alias include negotiation rewrite actions userdir
                   speling autoindex proxy proxy_http cache cache_disk
                   cache_socache http2)],
    global => $global . join '', map { vhost($ports[$_], @{ $caches[$_] }) }
                                 0 .. $#caches);
ok t_cmp($srv->{ok}, 1, 'the server with every module of the matrix started');
if (!$srv->{ok}) { note($srv->{log}->()); exit 1 }

# --- Requests -------------------------------------------------------------

my $req = 0;
my %wire;           # X-Req => the status the client got

sub get {
    my ($port, $proto, $url, @cert) = @_;
    my $id = ++$req;
    my $r = curl($proto, '-H', "X-Req: $id", '-H', 'User-Agent: matrix',
                 @cert, "https://localhost:$port$url");
    $wire{$id} = $r->{status};
    return $r;
}

sub note { print map { "# $_\n" } map { split /\n/ } @_ }

my @holder = ('--cert', "$t/pki/client-valid.pem");
my @failed = ('--cert', "$t/pki/client-expired.pem");

for my $i (0 .. $#caches) {
    my ($cache, $quick, $mode) = @{ $caches[$i] };
    my $port = $ports[$i];
    my $what = "$cache cache, quick handler $quick, vhost $mode";

    # The positive control: an unprotected page is kept and served from
    # the cache, with no caching header added.
    my $first = get($port, '--http1.1', '/pub/page.html');
    my $again = get($port, '--http1.1', '/pub/page.html');
    ok t_cmp(join(' ', $again->{status}, $again->{body} =~ s/\n//r,
                  $again->{headers}{'x-cache'} // 'no X-Cache'),
             qr/^200 public page HIT/, "$what: control: a public page is "
             . 'served from the cache');
    ok t_cmp(join(' ', map { $first->{headers}{$_} // '-' }
                       qw(expires cache-control)), '- -',
             "$what: a public page gets no Expires or Cache-Control");

    for my $p (@protos) {
        my ($proto, $pname) = @$p;
        for my $c (cases_of($caches[$i])) {
            my ($route, $url, $src, $want) = @$c;
            my $name = "$what, $pname, $route, $src ($url)";
            my $warm = get($port, $proto, $url, @holder);
            my $seen = $want =~ /^status (\d+)/
                     ? $warm->{status} == $1
                     : index($warm->{body}, $want) >= 0;
            ok t_cmp($seen ? 'reached' : "$warm->{status} $warm->{body}",
                     'reached', "$name: a certificate holder gets $want");
            # Twice, so that whatever the first stored is served now.
            get($port, $proto, $url, @holder);
            my $none = get($port, $proto, $url);
            ok t_cmp(leak($none, $route), '',
                     "$name: no certificate: nothing protected ($none->{status})");
            my $bad = get($port, $proto, $url, @failed);
            ok t_cmp("$bad->{status} " . leak($bad, $route), '495 ',
                     "$name: a failed certificate: 495, nothing protected");
            ok t_cmp(($none->{headers}{'x-cache'} // '') =~ /HIT/ ? 'hit' : '',
                     '', "$name: no certificate: not from the cache");
        }
        # A failed certificate is refused for the whole connection: also
        # an unprotected page, which the cache holds.
        my $bad = get($port, $proto, '/pub/page.html', @failed);
        ok t_cmp($bad->{status}, 495, "$what, $pname: a failed certificate "
                 . 'gets 495 for a cached public page too');
    }
}

# What the body shows of protected files: their contents, or (ROUTE
# mod_autoindex) their names.
sub leak {
    my ($r, $route) = @_;
    my $re = $route eq 'mod_autoindex' ? qr/(SECRET-\w+|secret\.html)/
                                       : qr/(SECRET-\w+|FALLBACK)/;
    return join ' ', $r->{body} =~ /$re/g;
}

# Status on the wire and in the access log agree for every request.
$srv->{stop}->();
my %logged;
if (open my $fh, '<', "$d/access_log") {
    while (<$fh>) {
        my ($id, $status) = split ' ';
        $logged{$id} = $status;
    }
}
my @differ = map { "request $_: sent $wire{$_}, logged "
                   . ($logged{$_} // 'nothing') }
             grep { ($logged{$_} // 0) != $wire{$_} } sort { $a <=> $b }
             keys %wire;
ok t_cmp(\@differ, [], "the access log's status is the status sent, for "
         . "all $req requests");
