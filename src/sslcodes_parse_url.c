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
 * sslcodes_parse_url.c: hosts and URLs: nginx's $host and $request_uri,
 * the https Location built from them, and OCSP responder URLs.  Plain C,
 * no httpd: the host and the target come from the client.
 */

#include <string.h>

#include "sslcodes_parse.h"

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

size_t sslcodes_https_location(char *out, size_t outlen, const char *host,
                               unsigned port, const char *target)
{
    const char *path = sslcodes_request_uri(target);
    char portbuf[1 + SSLCODES_URL_PORT_MAX] = "";
    size_t hlen = strlen(host), plen, need, n = 0;

    if (port != 443) {
        portbuf[0] = ':';
        sslcodes_port_text(port & 0xffffu, portbuf + 1);
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
