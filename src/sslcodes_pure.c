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
 * sslcodes_pure.c: the first-bytes classifier, the SSLCodesErrorDocument
 * argument parser, nginx's $host / $request_uri, OCSP responder URLs and
 * the OCSP cache entries.  Plain C, no httpd: every byte these see may
 * come from an attacker.
 */

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "sslcodes_pure.h"

/* PROXY protocol, haproxy.org/download/2.9/doc/proxy-protocol.txt:
 * v1 is one text line of at most 107 bytes ending in CRLF; v2 starts with a
 * 12-byte signature, then version/command, family and a 16-bit length. */
#define SSLCODES_PROXY_V1_MAX 107
#define SSLCODES_PROXY_V2_HDR 16

static const unsigned char sslcodes_proxy_v1[6] = "PROXY ";
static const unsigned char sslcodes_proxy_v2[12] = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* A TLS record starts with content type 22 (handshake); an SSLv2-format
 * ClientHello starts with a length byte whose high bit is set.  No HTTP
 * method starts with either. */
static sslcodes_first_e sslcodes_by_first_byte(unsigned char b)
{
    return (b == 0x16 || (b & 0x80)) ? SSLCODES_FIRST_TLS
                                     : SSLCODES_FIRST_PLAIN;
}

static int sslcodes_starts(const unsigned char *buf, size_t len,
                           const unsigned char *lit, size_t litlen)
{
    return memcmp(buf, lit, len < litlen ? len : litlen) == 0;
}

/* Length of the PROXY header at the start of BUF, 0 if there is none, or
 * (size_t)-1 if more bytes are needed to tell (*need is set then). */
static size_t sslcodes_proxy_len(const unsigned char *buf, size_t len,
                                 size_t *need)
{
    size_t i;

    if (buf[0] == 'P'
        && sslcodes_starts(buf, len, sslcodes_proxy_v1,
                           sizeof(sslcodes_proxy_v1))) {
        for (i = 1; i < len && i < SSLCODES_PROXY_V1_MAX; i++) {
            if (buf[i - 1] == '\r' && buf[i] == '\n') {
                return i + 1;
            }
        }
        if (len >= SSLCODES_PROXY_V1_MAX) {
            return 0;               /* too long: a "PROXY" method, not v1 */
        }
        *need = len < sizeof(sslcodes_proxy_v1) ? sizeof(sslcodes_proxy_v1)
                                                : len + 1;
        return (size_t)-1;
    }
    if (buf[0] == 0x0D
        && sslcodes_starts(buf, len, sslcodes_proxy_v2,
                           sizeof(sslcodes_proxy_v2))) {
        if (len < SSLCODES_PROXY_V2_HDR) {
            *need = SSLCODES_PROXY_V2_HDR;
            return (size_t)-1;
        }
        if ((buf[12] & 0xF0) != 0x20) {
            return 0;               /* not version 2: just bytes */
        }
        return SSLCODES_PROXY_V2_HDR + ((size_t)buf[14] << 8 | buf[15]);
    }
    return 0;
}

sslcodes_first_e sslcodes_classify(const unsigned char *buf, size_t len,
                                   int final, size_t *need)
{
    size_t skip;

    if (len == 0) {
        *need = 1;
        return final ? SSLCODES_FIRST_UNKNOWN : SSLCODES_FIRST_MORE;
    }
    skip = sslcodes_proxy_len(buf, len, need);
    if (skip == (size_t)-1) {
        /* An unfinished PROXY prefix that will never be finished is just
         * the start of some plain text. */
        return final ? sslcodes_by_first_byte(buf[0]) : SSLCODES_FIRST_MORE;
    }
    if (skip + 1 > SSLCODES_PEEK_MAX) {
        return SSLCODES_FIRST_UNKNOWN;
    }
    if (len <= skip) {
        *need = skip + 1;
        return final ? SSLCODES_FIRST_UNKNOWN : SSLCODES_FIRST_MORE;
    }
    return sslcodes_by_first_byte(buf[skip]);
}

/* --- PROXY protocol destination ------------------------------------------ */

/* A port in decimal, as v1 writes it: -1 unless 0..65535. */
static long sslcodes_v1_port(const char *s)
{
    long v = 0;
    size_t i;

    for (i = 0; s[i]; i++) {
        if (i == 5 || s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return (i > 0 && v <= 65535) ? v : -1;
}

/* Split the NUL-terminated LINE at single spaces into exactly N fields. */
static int sslcodes_v1_split(char *line, char **field, int n)
{
    int i = 0;

    field[i++] = line;
    for (; *line; line++) {
        if (*line == ' ') {
            if (i == n) {
                return 0;
            }
            *line = '\0';
            field[i++] = line + 1;
        }
    }
    return i == n;
}

/* "PROXY TCP4|TCP6 src dst sport dport\r\n", HLEN bytes in all.  Every
 * field must be well formed, as mod_remoteip wants the source ones to be;
 * "UNKNOWN" may be followed by anything. */
static void sslcodes_v1_dest(const unsigned char *buf, size_t hlen,
                             sslcodes_proxy_dst *out)
{
    char line[SSLCODES_PROXY_V1_MAX];
    char *f[5];
    unsigned char src[16];
    size_t n = hlen - sizeof(sslcodes_proxy_v1) - 2, i;
    long sport, dport;
    int af;

    for (i = 0; i < n; i++) {
        line[i] = (char)buf[sizeof(sslcodes_proxy_v1) + i];
        if (line[i] < 0x20 || line[i] > 0x7e) {
            return;
        }
    }
    line[n] = '\0';
    if (!sslcodes_v1_split(line, f, 5)) {
        return;
    }
    if (strcmp(f[0], "TCP4") == 0) {
        af = AF_INET;
    }
    else if (strcmp(f[0], "TCP6") == 0) {
        af = AF_INET6;
    }
    else {
        return;
    }
    sport = sslcodes_v1_port(f[3]);
    dport = sslcodes_v1_port(f[4]);
    if (inet_pton(af, f[1], src) != 1 || inet_pton(af, f[2], out->addr) != 1
        || sport < 0 || dport <= 0) {
        memset(out->addr, 0, sizeof(out->addr));
        return;
    }
    out->family = af == AF_INET ? SSLCODES_PROXY_TCP4 : SSLCODES_PROXY_TCP6;
    out->port = (unsigned)dport;
}

/* v2: after the 16-byte header come the source and destination addresses,
 * then the source and destination ports, in network order.  Only the PROXY
 * command (not LOCAL) over TCP carries a destination. */
static void sslcodes_v2_dest(const unsigned char *buf, size_t hlen,
                             sslcodes_proxy_dst *out)
{
    const unsigned char *a = buf + SSLCODES_PROXY_V2_HDR;
    size_t alen = hlen - SSLCODES_PROXY_V2_HDR, asize;
    sslcodes_proxy_family_e family;

    if ((buf[12] & 0x0F) != 0x01) {
        return;
    }
    if (buf[13] == 0x11) {
        family = SSLCODES_PROXY_TCP4;
        asize = 4;
    }
    else if (buf[13] == 0x21) {
        family = SSLCODES_PROXY_TCP6;
        asize = 16;
    }
    else {
        return;
    }
    if (alen < 2 * asize + 4) {
        return;
    }
    out->port = (unsigned)a[2 * asize + 2] << 8 | a[2 * asize + 3];
    if (out->port) {
        out->family = family;
        memcpy(out->addr, a + asize, asize);
    }
}

size_t sslcodes_proxy_dest(const unsigned char *buf, size_t len,
                           sslcodes_proxy_dst *out)
{
    size_t need, hlen = len ? sslcodes_proxy_len(buf, len, &need) : 0;

    memset(out, 0, sizeof(*out));
    if (hlen == 0 || hlen == (size_t)-1 || hlen > len) {
        return 0;
    }
    out->header_len = hlen;
    if (buf[0] == 'P') {
        sslcodes_v1_dest(buf, hlen, out);
    }
    else {
        sslcodes_v2_dest(buf, hlen, out);
    }
    return hlen;
}

/* --- SSLCodesErrorDocument ------------------------------------------------ */

static int sslcodes_is_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return s[n] == '\0';
}

static int sslcodes_parse_status(const char *s)
{
    if (!sslcodes_is_digits(s, 3)) {
        return -1;
    }
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* "scheme://...", the way every browser-facing redirect target starts. */
static int sslcodes_is_url(const char *s)
{
    size_t i = 0;

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
        return 0;
    }
    for (i = 1; s[i]; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '+' || ch == '-'
              || ch == '.')) {
            break;
        }
    }
    return s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/';
}

static int sslcodes_is_redirect_status(int status)
{
    return status == 301 || status == 302 || status == 303
        || status == 307 || status == 308;
}

/* A status that has a body of its own: 2xx, 4xx or 5xx, but not the
 * header-only 204 and 205. */
static int sslcodes_is_page_status(int status)
{
    return (status >= 200 && status <= 299 && status != 204 && status != 205)
        || (status >= 400 && status <= 599);
}

static const char *sslcodes_action_check(const sslcodes_action_spec *a)
{
    switch (a->kind) {
    case SSLCODES_ACT_HTTPS:
        if (a->codes != 1u << (497 - SSLCODES_CODE_MIN)) {
            return "'https' applies to code 497 only";
        }
        /* fall through */
    case SSLCODES_ACT_EXTERNAL:
        if (a->status && !sslcodes_is_redirect_status(a->status)) {
            return "a redirect takes =301, =302, =303, =307 or =308";
        }
        break;
    case SSLCODES_ACT_CLOSE:
        /* Nothing is sent, so there is no status to send. */
        if (a->status) {
            return "'close' sends nothing and takes no =STATUS";
        }
        break;
    default:
        if (a->status && !sslcodes_is_page_status(a->status)) {
            return "=STATUS with a local URL, text or 'default' must be "
                   "2xx (not 204 or 205), 4xx or 5xx";
        }
        break;
    }
    return NULL;
}

const char *sslcodes_action_parse(int argc, const char *const *argv,
                                  const int *quoted,
                                  sslcodes_action_spec *out, int *bad)
{
    int i, code;
    const char *w;

    memset(out, 0, sizeof(*out));
    *bad = -1;
    for (i = 0; i < argc && !quoted[i] && sslcodes_is_digits(argv[i], 3);
         i++) {
        code = sslcodes_parse_status(argv[i]);
        if (code < SSLCODES_CODE_MIN || code > SSLCODES_CODE_MAX) {
            *bad = i;
            return "unknown code (expected 494, 495, 496 or 497)";
        }
        out->codes |= 1u << (code - SSLCODES_CODE_MIN);
    }
    if (!out->codes) {
        *bad = argc ? 0 : -1;
        return "needs at least one code: 494, 495, 496 or 497";
    }
    if (i < argc && !quoted[i] && argv[i][0] == '=') {
        out->status = sslcodes_parse_status(argv[i] + 1);
        if (out->status < 200 || out->status > 599) {
            *bad = i;
            return "bad =STATUS (expected = and a status from 200 to 599)";
        }
        i++;
    }
    if (i != argc - 1) {
        *bad = i < argc ? i + 1 : -1;
        return i < argc ? "takes exactly one action after the codes"
                        : "needs an action after the codes";
    }

    /* As with core's ErrorDocument, the first bytes tell a local URL, an
     * external URL and text apart; quotes only turn a keyword into text. */
    w = argv[i];
    if (!quoted[i] && strcmp(w, "default") == 0) {
        out->kind = SSLCODES_ACT_DEFAULT;
    }
    else if (!quoted[i] && strcmp(w, "https") == 0) {
        out->kind = SSLCODES_ACT_HTTPS;
    }
    else if (!quoted[i] && strcmp(w, "close") == 0) {
        out->kind = SSLCODES_ACT_CLOSE;
    }
    else if (w[0] == '/') {
        out->kind = SSLCODES_ACT_LOCAL;
    }
    else if (sslcodes_is_url(w)) {
        out->kind = SSLCODES_ACT_EXTERNAL;
    }
    else {
        out->kind = SSLCODES_ACT_TEXT;
    }
    if (out->kind != SSLCODES_ACT_DEFAULT && out->kind != SSLCODES_ACT_HTTPS
        && out->kind != SSLCODES_ACT_CLOSE) {
        out->arg = w;
        out->is_expr = strstr(w, "%{") != NULL;
    }
    if ((w = sslcodes_action_check(out)) != NULL) {
        *bad = i;
    }
    return w;
}

/* --- $host and $request_uri ---------------------------------------------- */

static char sslcodes_lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static int sslcodes_is_host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}

static int sslcodes_is_ip6_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')
        || (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.';
}

int sslcodes_host_normalize(const char *in, size_t inlen,
                            char *out, size_t outlen)
{
    size_t i, end;
    int v6 = inlen > 0 && in[0] == '[';

    /* The host ends at ']' for an IPv6 literal, else at the port's ':'. */
    for (end = v6; end < inlen; end++) {
        if (v6 ? in[end] == ']' : in[end] == ':') {
            break;
        }
        if (v6 ? !sslcodes_is_ip6_char(in[end])
               : !sslcodes_is_host_char(in[end])) {
            return -1;
        }
        if (!v6 && in[end] == '.' && (end == 0 || in[end - 1] == '.')) {
            return -1;
        }
    }
    if (v6) {
        if (end >= inlen || end == 1) {
            return -1;
        }
        end++;                                   /* keep the ']' */
    }
    if (end < inlen) {
        if (in[end] != ':') {
            return -1;
        }
        for (i = end + 1; i < inlen; i++) {
            if (in[i] < '0' || in[i] > '9') {
                return -1;
            }
        }
    }
    if (!v6 && end > 0 && in[end - 1] == '.') {
        end--;                                   /* "example.com." */
    }
    if (end == 0 || end + 1 > outlen) {
        return -1;
    }
    for (i = 0; i < end; i++) {
        out[i] = sslcodes_lower(in[i]);
    }
    out[end] = '\0';
    return (int)end;
}

const char *sslcodes_request_uri(const char *unparsed)
{
    const char *p;

    if (unparsed[0] == '/') {
        return unparsed;                        /* origin-form */
    }
    p = strstr(unparsed, "://");
    if (p == NULL || p == unparsed
        || strcspn(unparsed, ":/?#") != (size_t)(p - unparsed)) {
        /* Authority-form ("CONNECT host:443"), asterisk-form ("OPTIONS *")
         * or anything else that has no path of its own. */
        return "/";
    }
    p += 3;
    p += strcspn(p, "/?#");
    return (*p == '/' || *p == '?') ? p : "/";
}

size_t sslcodes_https_location(char *out, size_t outlen, const char *host,
                               unsigned port, const char *target)
{
    const char *path = sslcodes_request_uri(target);
    char portbuf[8] = "";
    size_t hlen = strlen(host), plen, need, n = 0;

    if (port != 443) {
        snprintf(portbuf, sizeof(portbuf), ":%u", port & 0xffffu);
    }
    plen = strlen(portbuf);
    /* "https://" HOST [":" PORT] ["/" when the path is only a query] PATH */
    need = 8 + hlen + plen + (path[0] == '?') + strlen(path);
    if (out && outlen > need) {
        memcpy(out, "https://", 8);
        n = 8;
        memcpy(out + n, host, hlen);
        n += hlen;
        memcpy(out + n, portbuf, plen);
        n += plen;
        if (path[0] == '?') {
            out[n++] = '/';
        }
        memcpy(out + n, path, strlen(path) + 1);
    }
    return need;
}

/* --- OCSP responder URLs ------------------------------------------------- */

/* What may stand in a request line: printable ASCII, no space. */
static int sslcodes_is_path_char(char ch)
{
    return ch > 0x20 && ch < 0x7f;
}

/* The port as decimal digits; 1..65535 fits SSLCODES_URL_PORT_MAX. */
static void sslcodes_port_text(unsigned long port, char *out)
{
    char digits[SSLCODES_URL_PORT_MAX];
    size_t n = 0, i;

    do {
        digits[n++] = (char)('0' + port % 10);
        port /= 10;
    } while (port);
    for (i = 0; i < n; i++) {
        out[i] = digits[n - 1 - i];
    }
    out[n] = '\0';
}

/* Host of URL from *I on: a name, an IPv4 address or a bracketed IPv6
 * literal (kept with its brackets). */
static int sslcodes_url_host(const char *url, size_t len, size_t *i,
                             char *out)
{
    size_t h = *i, j = *i;

    if (j < len && url[j] == '[') {
        for (j++; j < len && sslcodes_is_ip6_char(url[j]); j++) {
        }
        if (j >= len || url[j] != ']' || j == h + 1) {
            return -1;
        }
        j++;
    }
    else {
        for (; j < len && sslcodes_is_host_char(url[j]); j++) {
        }
    }
    if (j == h || j - h >= SSLCODES_URL_HOST_MAX) {
        return -1;
    }
    memcpy(out, url + h, j - h);
    out[j - h] = '\0';
    *i = j;
    return 0;
}

static int sslcodes_url_port(const char *url, size_t len, size_t *i,
                             char *out)
{
    unsigned long port = 0;
    size_t j = *i, n = 0;

    if (j >= len || url[j] != ':') {
        port = 80;
    }
    else {
        for (j++; j < len && url[j] >= '0' && url[j] <= '9'; j++, n++) {
            port = port * 10 + (unsigned long)(url[j] - '0');
            if (port > 65535) {
                return -1;
            }
        }
        if (n == 0 || port == 0) {
            return -1;
        }
    }
    sslcodes_port_text(port, out);
    *i = j;
    return 0;
}

int sslcodes_url_parse(const char *url, size_t len, sslcodes_url *out)
{
    static const char scheme[] = "http://";
    size_t i, n = 0;

    for (i = 0; i < sizeof(scheme) - 1; i++) {
        if (i >= len || sslcodes_lower(url[i]) != scheme[i]) {
            return -1;
        }
    }
    if (sslcodes_url_host(url, len, &i, out->host) != 0
        || sslcodes_url_port(url, len, &i, out->port) != 0) {
        return -1;
    }
    /* Whatever follows the authority must start the path, the query or
     * the fragment: "http://host@evil/" stops here. */
    if (i < len && url[i] != '/' && url[i] != '?' && url[i] != '#') {
        return -1;
    }
    if (i >= len || url[i] != '/') {
        out->path[n++] = '/';
    }
    for (; i < len && url[i] != '#'; i++) {
        if (!sslcodes_is_path_char(url[i])
            || n + 1 >= SSLCODES_URL_PATH_MAX) {
            return -1;
        }
        out->path[n++] = url[i];
    }
    out->path[n] = '\0';
    /* The fragment is not sent, but a control character in it still
     * makes the whole value suspect. */
    for (; i < len; i++) {
        if (!sslcodes_is_path_char(url[i])) {
            return -1;
        }
    }
    return 0;
}

/* --- OCSP answers in the shared cache ------------------------------------ */

#define SSLCODES_OCSP_ENTRY_VERSION 1

static void sslcodes_put64(unsigned char *p, long long v)
{
    unsigned long long u = (unsigned long long)v;
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
}

static long long sslcodes_get64(const unsigned char *p)
{
    unsigned long long u = 0;
    int i;

    for (i = 0; i < 8; i++) {
        u = (u << 8) | p[i];
    }
    return (long long)u;
}

/* version, status, reason + 1, thisUpdate, nextUpdate (big-endian) */
void sslcodes_ocsp_entry_encode(const sslcodes_ocsp_entry *e,
                                unsigned char *out)
{
    out[0] = SSLCODES_OCSP_ENTRY_VERSION;
    out[1] = (unsigned char)e->status;
    out[2] = (unsigned char)(e->reason + 1);
    sslcodes_put64(out + 3, e->this_update);
    sslcodes_put64(out + 11, e->next_update);
}

int sslcodes_ocsp_entry_decode(const unsigned char *buf, size_t len,
                               sslcodes_ocsp_entry *e)
{
    if (len != SSLCODES_OCSP_ENTRY_LEN
        || buf[0] != SSLCODES_OCSP_ENTRY_VERSION || buf[1] > 2
        || buf[2] > 11) {
        return -1;
    }
    e->status = buf[1];
    e->reason = (int)buf[2] - 1;
    e->this_update = sslcodes_get64(buf + 3);
    e->next_update = sslcodes_get64(buf + 11);
    if (e->next_update < 0
        || (e->next_update && e->next_update < e->this_update)) {
        return -1;
    }
    return 0;
}

long long sslcodes_ocsp_entry_expiry(const sslcodes_ocsp_entry *e,
                                     long maxage)
{
    long long until = e->next_update;

    if (until <= 0) {
        return 0;
    }
    if (maxage >= 0 && e->this_update + maxage < until) {
        until = e->this_update + maxage;
    }
    return until;
}
