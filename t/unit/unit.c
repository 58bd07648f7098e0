/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * Unit tests of the pure parsers in src/sslcodes_parse_*.c, printing TAP.
 * Built and run by t/unit/pure.t.
 */

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "sslcodes_parse.h"

static int sslcodes_t_n;
static int sslcodes_t_failed;

static void ok(int cond, const char *name)
{
    printf("%sok %d - %s\n", cond ? "" : "not ", ++sslcodes_t_n, name);
    if (!cond) {
        sslcodes_t_failed++;
    }
}

static void classify(const char *name, const void *buf, size_t len,
                     int final, sslcodes_first_e want, size_t want_need)
{
    size_t need = 0;
    sslcodes_first_e got = sslcodes_classify(buf, len, final, &need);

    ok(got == want && (want != SSLCODES_FIRST_MORE || need == want_need),
       name);
    if (got != want || (want == SSLCODES_FIRST_MORE && need != want_need)) {
        printf("# got %d need %zu, want %d need %zu\n", got, need, want,
               want_need);
    }
}

static size_t v2(unsigned char *buf, unsigned verbyte, unsigned len)
{
    static const unsigned char sig[12] = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
    };

    memcpy(buf, sig, 12);
    buf[12] = (unsigned char)verbyte;
    buf[13] = 0x11;
    buf[14] = (unsigned char)(len >> 8);
    buf[15] = (unsigned char)(len & 0xff);
    memset(buf + 16, 0x7f, len < 64 ? len : 64);
    return 16;
}

static void test_classify(void)
{
    unsigned char buf[2048];
    const char *v1 = "PROXY TCP4 192.0.2.1 127.0.0.1 40000 443\r\n";
    size_t n = strlen(v1);

    classify("empty: wait for 1 byte", "", 0, 0, SSLCODES_FIRST_MORE, 1);
    classify("empty at EOF: unknown", "", 0, 1, SSLCODES_FIRST_UNKNOWN, 0);
    classify("TLS record", "\x16\x03\x01\x02\x00", 5, 0, SSLCODES_FIRST_TLS, 0);
    classify("SSLv2 hello", "\x80\x2e\x01", 3, 0, SSLCODES_FIRST_TLS, 0);
    classify("GET", "GET / HTTP/1.1\r\n", 16, 0, SSLCODES_FIRST_PLAIN, 0);
    classify("P alone: could be PROXY", "P", 1, 0, SSLCODES_FIRST_MORE, 6);
    classify("P at EOF: plain", "P", 1, 1, SSLCODES_FIRST_PLAIN, 0);
    classify("PO: plain", "PO", 2, 0, SSLCODES_FIRST_PLAIN, 0);
    classify("PROPFIND: plain", "PROPFIND / HTTP/1.1", 19, 0,
             SSLCODES_FIRST_PLAIN, 0);
    classify("PROXY without the space yet", "PROXY", 5, 0,
             SSLCODES_FIRST_MORE, 6);
    classify("PROXY v1 without its CRLF yet", v1, n - 2, 0,
             SSLCODES_FIRST_MORE, n - 1);
    classify("PROXY v1, nothing after", v1, n, 0, SSLCODES_FIRST_MORE, n + 1);
    classify("PROXY v1, nothing after, EOF", v1, n, 1,
             SSLCODES_FIRST_UNKNOWN, 0);
    memcpy(buf, v1, n);
    buf[n] = 0x16;
    classify("PROXY v1 + TLS", buf, n + 1, 0, SSLCODES_FIRST_TLS, 0);
    buf[n] = 'G';
    classify("PROXY v1 + plain", buf, n + 1, 0, SSLCODES_FIRST_PLAIN, 0);
    memset(buf, 'x', 200);
    memcpy(buf, "PROXY ", 6);
    classify("PROXY v1 too long: plain", buf, 200, 0, SSLCODES_FIRST_PLAIN, 0);
    classify("PROXY v1 unfinished at EOF: plain", v1, 20, 1,
             SSLCODES_FIRST_PLAIN, 0);

    n = v2(buf, 0x21, 12);
    classify("PROXY v2 signature only", buf, 8, 0, SSLCODES_FIRST_MORE, 16);
    classify("PROXY v2 header, no addresses", buf, 16, 0,
             SSLCODES_FIRST_MORE, 29);
    buf[28] = 0x16;
    classify("PROXY v2 + TLS", buf, 29, 0, SSLCODES_FIRST_TLS, 0);
    buf[28] = 'G';
    classify("PROXY v2 + plain", buf, 29, 0, SSLCODES_FIRST_PLAIN, 0);
    v2(buf, 0x11, 12);
    buf[28] = 0x16;
    classify("PROXY v2 with version 1: plain", buf, 29, 0,
             SSLCODES_FIRST_PLAIN, 0);
    v2(buf, 0x21, 4000);
    classify("PROXY v2 too long to look past", buf, 16, 0,
             SSLCODES_FIRST_UNKNOWN, 0);
    classify("CRLF then GET: plain", "\r\n\r\nGET", 7, 0,
             SSLCODES_FIRST_PLAIN, 0);
    (void)n;
}

/* The destination a PROXY header reports: WANT_ADDR is text, or NULL. */
static void dest(const char *name, const void *buf, size_t len,
                 size_t want_len, sslcodes_proxy_family_e want_family,
                 const char *want_addr, unsigned want_port)
{
    sslcodes_proxy_dst d;
    unsigned char addr[16] = { 0 };
    size_t got = sslcodes_proxy_dest(buf, len, &d);
    int af = want_family == SSLCODES_PROXY_TCP6 ? AF_INET6 : AF_INET;

    if (want_addr) {
        inet_pton(af, want_addr, addr);
    }
    ok(got == want_len && d.header_len == want_len
       && d.family == want_family && d.port == want_port
       && memcmp(d.addr, addr, sizeof(addr)) == 0, name);
    if (got != want_len || d.family != want_family || d.port != want_port) {
        printf("# got len %zu family %d port %u, want %zu %d %u\n", got,
               d.family, d.port, want_len, want_family, want_port);
    }
}

/* A PROXY v2 header for COMMAND and FAM, with ALEN bytes of addresses:
 * source ::1 / 127.0.0.1 port 40000, destination DST port PORT. */
static size_t v2addr(unsigned char *buf, unsigned command, unsigned fam,
                     const char *dst, unsigned port, size_t alen)
{
    size_t asize = fam >> 4 == 2 ? 16 : 4;
    unsigned char *a = buf + 16;

    v2(buf, 0x20 | command, (unsigned)alen);
    buf[13] = (unsigned char)fam;
    memset(a, 0, alen);
    inet_pton(asize == 16 ? AF_INET6 : AF_INET, asize == 16 ? "::1"
              : "127.0.0.1", a);
    inet_pton(asize == 16 ? AF_INET6 : AF_INET, dst, a + asize);
    a[2 * asize] = 40000 >> 8;
    a[2 * asize + 1] = 40000 & 0xff;
    a[2 * asize + 2] = (unsigned char)(port >> 8);
    a[2 * asize + 3] = (unsigned char)(port & 0xff);
    return 16 + alen;
}

#define V1(s) s, sizeof(s) - 1

static void test_proxy_dest(void)
{
    unsigned char buf[2048];
    size_t n;
    const char *tcp4 = "PROXY TCP4 192.0.2.1 198.51.100.7 40000 8600\r\n";

    dest("v1 TCP4", V1("PROXY TCP4 192.0.2.1 198.51.100.7 40000 8600\r\n"),
         46, SSLCODES_PROXY_TCP4, "198.51.100.7", 8600);
    memcpy(buf, tcp4, 46);
    memcpy(buf + 46, "GET / HTTP/1.1\r\n", 16);
    dest("v1 TCP4, request after it", buf, 62, 46, SSLCODES_PROXY_TCP4,
         "198.51.100.7", 8600);
    dest("v1 TCP6", V1("PROXY TCP6 2001:db8::1 2001:db8::2 1 443\r\n"), 42,
         SSLCODES_PROXY_TCP6, "2001:db8::2", 443);
    dest("v1 largest", V1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
                          " ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535"
                          " 65535\r\n"), 104, SSLCODES_PROXY_TCP6,
         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    dest("v1 UNKNOWN", V1("PROXY UNKNOWN\r\n"), 15, SSLCODES_PROXY_NONE,
         NULL, 0);
    dest("v1 UNKNOWN with addresses",
         V1("PROXY UNKNOWN 192.0.2.1 192.0.2.2 1 2\r\n"), 39,
         SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 port 0", V1("PROXY TCP4 192.0.2.1 192.0.2.2 1 0\r\n"), 36,
         SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 port 65536", V1("PROXY TCP4 192.0.2.1 192.0.2.2 1 65536\r\n"),
         40, SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 port with a sign", V1("PROXY TCP4 192.0.2.1 192.0.2.2 1 +80\r\n"),
         38, SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 bad address", V1("PROXY TCP4 192.0.2.1 192.0.2.256 1 80\r\n"),
         39, SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 bad source", V1("PROXY TCP4 192.0.2 192.0.2.2 1 80\r\n"),
         35, SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 TCP4 with IPv6", V1("PROXY TCP4 ::1 ::2 1 80\r\n"), 25,
         SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 two spaces", V1("PROXY TCP4 192.0.2.1  192.0.2.2 1 80\r\n"),
         38, SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 a field too many",
         V1("PROXY TCP4 192.0.2.1 192.0.2.2 1 80 9\r\n"), 39,
         SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 a field short", V1("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n"), 34,
         SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 TCP5", V1("PROXY TCP5 192.0.2.1 192.0.2.2 1 80\r\n"), 37,
         SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 control byte", V1("PROXY TCP4 192.0.2.1 192.0.2.2 1 80\t\r\n"),
         38, SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 empty", V1("PROXY \r\n"), 8, SSLCODES_PROXY_NONE, NULL, 0);
    dest("v1 without its CRLF yet", tcp4, 45, 0, SSLCODES_PROXY_NONE, NULL,
         0);
    dest("no header", V1("GET / HTTP/1.1\r\n"), 0, SSLCODES_PROXY_NONE, NULL,
         0);
    dest("TLS", "\x16\x03\x01", 3, 0, SSLCODES_PROXY_NONE, NULL, 0);
    dest("nothing", "", 0, 0, SSLCODES_PROXY_NONE, NULL, 0);

    n = v2addr(buf, 1, 0x11, "198.51.100.7", 8600, 12);
    dest("v2 TCP4", buf, n, 28, SSLCODES_PROXY_TCP4, "198.51.100.7", 8600);
    buf[n] = 0x16;
    dest("v2 TCP4, TLS after it", buf, n + 1, 28, SSLCODES_PROXY_TCP4,
         "198.51.100.7", 8600);
    classify("v2 TCP4: classify skips the same bytes", buf, n, 0,
             SSLCODES_FIRST_MORE, n + 1);
    dest("v2 TCP4, one byte short", buf, n - 1, 0, SSLCODES_PROXY_NONE, NULL,
         0);
    n = v2addr(buf, 1, 0x21, "2001:db8::2", 443, 36);
    dest("v2 TCP6", buf, n, 52, SSLCODES_PROXY_TCP6, "2001:db8::2", 443);
    n = v2addr(buf, 1, 0x11, "192.0.2.2", 443, 12 + 9);
    dest("v2 TCP4 with TLVs", buf, n, 37, SSLCODES_PROXY_TCP4, "192.0.2.2",
         443);
    n = v2addr(buf, 0, 0x11, "192.0.2.2", 443, 12);
    dest("v2 LOCAL", buf, n, 28, SSLCODES_PROXY_NONE, NULL, 0);
    n = v2addr(buf, 1, 0x12, "192.0.2.2", 443, 12);
    dest("v2 UDP", buf, n, 28, SSLCODES_PROXY_NONE, NULL, 0);
    n = v2addr(buf, 1, 0x31, "192.0.2.2", 443, 12);
    dest("v2 UNIX", buf, n, 28, SSLCODES_PROXY_NONE, NULL, 0);
    n = v2addr(buf, 1, 0x11, "192.0.2.2", 0, 12);
    dest("v2 port 0", buf, n, 28, SSLCODES_PROXY_NONE, NULL, 0);
    n = v2addr(buf, 2, 0x11, "192.0.2.2", 443, 12);
    dest("v2 unknown command", buf, n, 28, SSLCODES_PROXY_NONE, NULL, 0);
    v2(buf, 0x21, 11);
    dest("v2 TCP4, addresses cut short", buf, 27, 27, SSLCODES_PROXY_NONE,
         NULL, 0);
    n = v2addr(buf, 1, 0x21, "2001:db8::2", 443, 36);
    buf[15] = 35;
    dest("v2 TCP6, addresses cut short", buf, n, 51, SSLCODES_PROXY_NONE,
         NULL, 0);
    n = v2addr(buf, 1, 0x11, "192.0.2.2", 443, 12);
    buf[12] = 0x11;
    dest("v2 with version 1: no header", buf, n, 0, SSLCODES_PROXY_NONE,
         NULL, 0);
}

static void action(const char *name, int argc, const char *const *argv,
                   const int *quoted, const char *want_err,
                   sslcodes_act_kind_e want_kind, unsigned want_codes,
                   int want_status)
{
    sslcodes_action_spec a;
    int bad;
    const char *err = sslcodes_action_parse(argc, argv, quoted, &a, &bad);

    if (want_err) {
        ok(err && strstr(err, want_err) != NULL, name);
        if (!err || !strstr(err, want_err)) {
            printf("# got '%s'\n", err ? err : "(none)");
        }
        return;
    }
    ok(!err && a.kind == want_kind && a.codes == want_codes
       && a.status == want_status, name);
    if (err) {
        printf("# error: %s\n", err);
    }
}

#define A(...) (const char *const []){ __VA_ARGS__ }
#define Q(...) (const int []){ __VA_ARGS__ }
#define C(code) (1u << ((code) - 494))

static void test_action(void)
{
    action("local", 2, A("497", "/e.html"), Q(0, 0), NULL,
           SSLCODES_ACT_LOCAL, C(497), 0);
    action("two codes, =403 local", 4, A("495", "496", "=403", "/e"),
           Q(0, 0, 0, 0), NULL, SSLCODES_ACT_LOCAL, C(495) | C(496), 403);
    action("external", 2, A("497", "https://x/"), Q(0, 0), NULL,
           SSLCODES_ACT_EXTERNAL, C(497), 0);
    action("external =308", 3, A("497", "=308", "http://x/"), Q(0, 0, 0),
           NULL, SSLCODES_ACT_EXTERNAL, C(497), 308);
    action("quoted external expression", 3,
           A("497", "=301", "https://%{SSLCODES_HOST}/"), Q(0, 0, 1), NULL,
           SSLCODES_ACT_EXTERNAL, C(497), 301);
    action("text", 2, A("497", "go away"), Q(0, 1), NULL,
           SSLCODES_ACT_TEXT, C(497), 0);
    action("default", 2, A("494", "default"), Q(0, 0), NULL,
           SSLCODES_ACT_DEFAULT, C(494), 0);
    action("quoted default is text", 2, A("494", "default"), Q(0, 1), NULL,
           SSLCODES_ACT_TEXT, C(494), 0);
    action("https", 2, A("497", "https"), Q(0, 0), NULL,
           SSLCODES_ACT_HTTPS, C(497), 0);
    action("quoted https is text", 2, A("497", "https"), Q(0, 1), NULL,
           SSLCODES_ACT_TEXT, C(497), 0);
    action("https for 496", 2, A("496", "https"), Q(0, 0), "497 only", 0, 0, 0);
    action("unknown code", 2, A("498", "/x"), Q(0, 0), "unknown code", 0, 0, 0);
    action("no code", 1, A("/x"), Q(0), "at least one code", 0, 0, 0);
    action("no action", 1, A("497"), Q(0), "needs an action", 0, 0, 0);
    action("two actions", 3, A("497", "/a", "/b"), Q(0, 0, 0),
           "exactly one action", 0, 0, 0);
    action("=STATUS not a number", 3, A("497", "=30x", "/a"), Q(0, 0, 0),
           "bad =STATUS", 0, 0, 0);
    action("=STATUS too big", 3, A("497", "=600", "/a"), Q(0, 0, 0),
           "bad =STATUS", 0, 0, 0);
    action("=STATUS four digits", 3, A("497", "=3011", "/a"), Q(0, 0, 0),
           "bad =STATUS", 0, 0, 0);
    action("redirect status for text", 3, A("497", "=301", "text"),
           Q(0, 0, 1), "2xx", 0, 0, 0);
    action("page status for a redirect", 3, A("497", "=200", "https://x/"),
           Q(0, 0, 0), "a redirect takes", 0, 0, 0);
    action("=204 has no body", 3, A("497", "=204", "/x"), Q(0, 0, 0),
           "2xx", 0, 0, 0);
    action("empty", 0, A(NULL), Q(0), "at least one code", 0, 0, 0);
    action("close", 2, A("497", "close"), Q(0, 0), NULL,
           SSLCODES_ACT_CLOSE, C(497), 0);
    action("close for 494 to 497", 5, A("494", "495", "496", "497", "close"),
           Q(0, 0, 0, 0, 0), NULL, SSLCODES_ACT_CLOSE,
           C(494) | C(495) | C(496) | C(497), 0);
    action("quoted close is text", 2, A("496", "close"), Q(0, 1), NULL,
           SSLCODES_ACT_TEXT, C(496), 0);
    action("close takes no =STATUS", 3, A("497", "=403", "close"),
           Q(0, 0, 0), "no =STATUS", 0, 0, 0);
}

static void host(const char *in, const char *want)
{
    char out[256];
    char name[600];
    int n = sslcodes_host_normalize(in, strlen(in), out, sizeof(out));

    char *p;

    snprintf(name, sizeof(name), "host '%.40s' -> %s", in,
             want ? want : "invalid");
    for (p = name; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            *p = '?';                   /* keep TAP on one line */
        }
    }
    ok(want ? (n >= 0 && strcmp(out, want) == 0) : n < 0, name);
}

static void test_host(void)
{
    char longhost[400];

    host("Example.COM", "example.com");
    host("Example.COM:8443", "example.com");
    host("example.com.", "example.com");
    host("[::1]:443", "[::1]");
    host("[2001:DB8::1]", "[2001:db8::1]");
    host("a_b-c.test", "a_b-c.test");
    host("[::1", NULL);
    host("[]", NULL);
    host("[::1]x", NULL);
    host("[::g]", NULL);
    host("a..b", NULL);
    host(".a", NULL);
    host("a b", NULL);
    host("a/b", NULL);
    host("a\r\nb", NULL);
    host("", NULL);
    host(":80", NULL);
    host("host:8x", NULL);
    host("host:80:80", NULL);
    memset(longhost, 'a', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    host(longhost, NULL);
}

static void request_uri(const char *in, const char *want)
{
    char name[200];

    snprintf(name, sizeof(name), "request_uri '%s' -> '%s'", in, want);
    ok(strcmp(sslcodes_request_uri(in), want) == 0, name);
}

static void test_request_uri(void)
{
    request_uri("/p%20x/y?a=b&c=%41", "/p%20x/y?a=b&c=%41");
    request_uri("//evil.test/x", "//evil.test/x");
    request_uri("http://h:8080/p?q=1", "/p?q=1");
    request_uri("http://h", "/");
    request_uri("http://h?q", "?q");
    request_uri("http://h#f", "/");
    request_uri("HTTPS://h/x", "/x");
    /* Targets without a path of their own never reach the Location. */
    request_uri("*", "/");
    request_uri("x.evil.test:", "/");
    request_uri("evil.test:443", "/");
    request_uri("evil.test", "/");
    request_uri("", "/");
    request_uri("://evil.test/x", "/");
    request_uri("a/b://evil.test/x", "/");
    request_uri("?q", "/");
}

static void location(const char *host, unsigned port, const char *target,
                     const char *want)
{
    char out[256], name[300];
    size_t n = sslcodes_https_location(out, sizeof(out), host, port, target);

    snprintf(name, sizeof(name), "https_location %s %u '%s' -> '%s'", host,
             port, target, want);
    ok(n == strlen(want) && strcmp(out, want) == 0, name);
}

static void test_https_location(void)
{
    char small[8] = "x";

    location("localhost", 8443, "/p?q=1", "https://localhost:8443/p?q=1");
    location("a.test", 443, "/", "https://a.test/");
    location("[::1]", 8443, "/x", "https://[::1]:8443/x");
    location("localhost", 8443, "x.evil.test:", "https://localhost:8443/");
    location("localhost", 8443, "evil.test:443", "https://localhost:8443/");
    location("localhost", 8443, "*", "https://localhost:8443/");
    location("localhost", 8443, "http://evil.test?q",
             "https://localhost:8443/?q");
    location("localhost", 80, "http://evil.test/p", "https://localhost:80/p");
    /* Too small: nothing written, the length still told. */
    ok(sslcodes_https_location(small, sizeof(small), "localhost", 8443, "/")
       == strlen("https://localhost:8443/") && small[0] == 'x',
       "https_location reports the length and leaves a short buffer alone");
}

/* WANT is "host port path", or NULL for a URL that must be refused. */
static void url_len(const char *name, const char *in, size_t len,
                    const char *want)
{
    sslcodes_url u;
    char got[SSLCODES_URL_HOST_MAX + SSLCODES_URL_PATH_MAX + 16];
    int rc = sslcodes_url_parse(in, len, &u);

    if (rc == 0) {
        snprintf(got, sizeof(got), "%s %s %s", u.host, u.port, u.path);
    }
    ok(want ? (rc == 0 && strcmp(got, want) == 0) : rc < 0, name);
    if (want && (rc != 0 || strcmp(got, want) != 0)) {
        printf("# got rc %d '%s', want '%s'\n", rc, rc == 0 ? got : "",
               want);
    }
}

static void url(const char *in, const char *want)
{
    char name[120];
    char *p;

    snprintf(name, sizeof(name), "url '%.60s' -> %s", in,
             want ? want : "refused");
    for (p = name; *p; p++) {
        if ((unsigned char)*p < 0x20) {
            *p = '?';                   /* keep TAP on one line */
        }
    }
    url_len(name, in, strlen(in), want);
}

static void test_url(void)
{
    char longurl[SSLCODES_URL_PATH_MAX + 32];

    url("http://127.0.0.1:9990/", "127.0.0.1 9990 /");
    url("http://ocsp.example.com", "ocsp.example.com 80 /");
    url("HTTP://Ocsp.Example.com/a/b", "Ocsp.Example.com 80 /a/b");
    url("http://h:8080?x=1", "h 8080 /?x=1");
    url("http://h/p?q=1#frag", "h 80 /p?q=1");
    url("http://h#frag", "h 80 /");
    url("http://[::1]:8080/ocsp", "[::1] 8080 /ocsp");
    url("http://[2001:db8::1]", "[2001:db8::1] 80 /");
    url("http://h:65535/", "h 65535 /");
    url("https://h/", NULL);
    url("ldap://h/", NULL);
    url("http:/h/", NULL);
    url("http://", NULL);
    url("http:///p", NULL);
    url("http://h:/", NULL);
    url("http://h:0/", NULL);
    url("http://h:65536/", NULL);
    url("http://h:99999999999999999999/", NULL);
    url("http://h:8x/", NULL);
    url("http://user@h/", NULL);
    url("http://h@evil/", NULL);
    url("http://[::1/", NULL);
    url("http://[]/", NULL);
    url("http://[::g]/", NULL);
    url("http://h/a b", NULL);
    url("http://h/a\r\nHost: evil", NULL);
    url("http://h/\x7f", NULL);
    url("http://h/\xc3\xa9", NULL);
    url("http://h/#\n", NULL);
    url("http://h\\x/", NULL);
    url_len("url with a NUL inside the path refused", "http://h/a\0b", 12,
            NULL);
    url_len("url with a NUL inside the host refused", "http://h\0.evil/",
            15, NULL);
    url_len("url cut short by its length", "http://h:80/xyz", 11, "h 80 /");
    memset(longurl, 'a', sizeof(longurl) - 1);
    longurl[sizeof(longurl) - 1] = '\0';
    memcpy(longurl, "http://h/", 9);
    url_len("url with a path too long refused", longurl, strlen(longurl),
            NULL);
    memset(longurl, 'a', sizeof(longurl) - 1);
    memcpy(longurl, "http://", 7);
    longurl[SSLCODES_URL_HOST_MAX + 7] = '\0';
    url_len("url with a host too long refused", longurl, strlen(longurl),
            NULL);
}

static void test_ocsp_entry(void)
{
    sslcodes_ocsp_entry e = { 1, 4, 1700000000LL, 1700000600LL }, d;
    unsigned char buf[SSLCODES_OCSP_ENTRY_LEN + 1];
    size_t i;
    int all = 1;

    sslcodes_ocsp_entry_encode(&e, buf);
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN, &d) == 0
       && d.status == 1 && d.reason == 4 && d.this_update == e.this_update
       && d.next_update == e.next_update, "ocsp entry round trip");
    e.reason = -1;
    e.status = 0;
    sslcodes_ocsp_entry_encode(&e, buf);
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN, &d) == 0
       && d.status == 0 && d.reason == -1, "ocsp entry without a reason");
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN - 1, &d) < 0,
       "ocsp entry too short refused");
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN + 1, &d) < 0,
       "ocsp entry too long refused");
    buf[0] = 2;
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN, &d) < 0,
       "ocsp entry of another version refused");
    buf[0] = 1;
    buf[1] = 3;
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN, &d) < 0,
       "ocsp entry with a bad status refused");
    buf[1] = 0;
    buf[2] = 12;
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN, &d) < 0,
       "ocsp entry with a bad reason refused");
    e.next_update = e.this_update - 1;
    sslcodes_ocsp_entry_encode(&e, buf);
    ok(sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN, &d) < 0,
       "ocsp entry expiring before it starts refused");
    /* Every single-byte change is either refused or still well-formed. */
    e.next_update = e.this_update + 600;
    for (i = 0; i < SSLCODES_OCSP_ENTRY_LEN * 256; i++) {
        sslcodes_ocsp_entry_encode(&e, buf);
        buf[i / 256] = (unsigned char)(i % 256);
        if (sslcodes_ocsp_entry_decode(buf, SSLCODES_OCSP_ENTRY_LEN, &d) == 0
            && (d.status < 0 || d.status > 2 || d.reason < -1
                || d.reason > 10 || d.next_update < 0
                || (d.next_update && d.next_update < d.this_update))) {
            all = 0;
        }
    }
    ok(all, "ocsp entry: no mutation decodes to a bad entry");

    e.this_update = 1000;
    e.next_update = 1600;
    ok(sslcodes_ocsp_entry_expiry(&e, -1) == 1600,
       "ocsp expiry: nextUpdate without a max age");
    ok(sslcodes_ocsp_entry_expiry(&e, 60) == 1060,
       "ocsp expiry: bounded by the max age");
    ok(sslcodes_ocsp_entry_expiry(&e, 6000) == 1600,
       "ocsp expiry: a larger max age does not extend nextUpdate");
    ok(sslcodes_ocsp_entry_expiry(&e, 0) == 1000,
       "ocsp expiry: max age 0 keeps nothing past thisUpdate");
    e.next_update = 0;
    ok(sslcodes_ocsp_entry_expiry(&e, -1) == 0,
       "ocsp expiry: no nextUpdate, not kept");
    ok(sslcodes_ocsp_entry_expiry(&e, 60) == 0,
       "ocsp expiry: no nextUpdate, not kept even with a max age");
}

int main(void)
{
    test_classify();
    test_proxy_dest();
    test_action();
    test_host();
    test_url();
    test_ocsp_entry();
    test_request_uri();
    test_https_location();
    printf("1..%d\n", sslcodes_t_n);
    return sslcodes_t_failed ? 1 : 0;
}
