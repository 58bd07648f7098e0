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
 * sslcodes_parse_first.c: a connection's first bytes.  Are they TLS or
 * plain HTTP, and where does a PROXY header in front of them say the
 * client connected?  Plain C, no httpd: every byte here may come from an
 * attacker.
 */

#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <stdlib.h>

#include "sslcodes_parse.h"

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
