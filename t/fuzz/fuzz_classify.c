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
 * libFuzzer target: the first-bytes classifier with PROXY v1/v2 headers,
 * and the PROXY destination parser.  Checks their promises on every input,
 * that feeding the same bytes one at a time never disagrees with feeding
 * them at once, that both agree on where the header ends, and that a
 * destination written out again as v1 and as v2 reads back the same.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "sslcodes_parse.h"

static void sslcodes_check_classify(const uint8_t *data, size_t size,
                                    sslcodes_first_e *all)
{
    size_t need = 0, len;
    sslcodes_first_e part;

    *all = sslcodes_classify(data, size, 0, &need);
    if (*all == SSLCODES_FIRST_MORE
        && (need <= size || need > SSLCODES_PEEK_MAX)) {
        abort();                /* must ask for more than it has, within bounds */
    }
    if (sslcodes_classify(data, size, 1, &need) == SSLCODES_FIRST_MORE) {
        abort();                /* at EOF it must decide */
    }
    /* Growing the input one byte at a time: once decided, never changed. */
    for (len = 0; len <= size; len++) {
        part = sslcodes_classify(data, len, 0, &need);
        if (part != SSLCODES_FIRST_MORE) {
            if (part != *all) {
                abort();
            }
            break;
        }
        if (need <= len) {
            abort();
        }
    }
}

static int sslcodes_same_dst(const sslcodes_proxy_dst *a,
                             const sslcodes_proxy_dst *b)
{
    return a->header_len == b->header_len && a->family == b->family
        && a->port == b->port && memcmp(a->addr, b->addr, 16) == 0;
}

/* Write D out as a v1 line and as a v2 header; both must read back as D. */
static void sslcodes_check_round_trip(const sslcodes_proxy_dst *d)
{
    unsigned char buf[128];
    char text[INET6_ADDRSTRLEN];
    sslcodes_proxy_dst back;
    int v6 = d->family == SSLCODES_PROXY_TCP6;
    size_t asize = v6 ? 16 : 4, n;
    int len;

    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, d->addr, text, sizeof(text))) {
        abort();
    }
    len = snprintf((char *)buf, sizeof(buf), "PROXY TCP%c %s %s 1 %u\r\n",
                   v6 ? '6' : '4', v6 ? "::1" : "127.0.0.1", text, d->port);
    if (len <= 0 || (size_t)len >= sizeof(buf)
        || sslcodes_proxy_dest(buf, (size_t)len, &back) != (size_t)len
        || back.family != d->family || back.port != d->port
        || memcmp(back.addr, d->addr, 16) != 0) {
        abort();
    }

    memcpy(buf, "\r\n\r\n\0\r\nQUIT\n", 12);
    buf[12] = 0x21;
    buf[13] = v6 ? 0x21 : 0x11;
    buf[14] = 0;
    buf[15] = (unsigned char)(2 * asize + 4);
    memset(buf + 16, 0, asize);
    memcpy(buf + 16 + asize, d->addr, asize);
    buf[16 + 2 * asize] = 0;
    buf[17 + 2 * asize] = 1;
    buf[18 + 2 * asize] = (unsigned char)(d->port >> 8);
    buf[19 + 2 * asize] = (unsigned char)(d->port & 0xff);
    n = 20 + 2 * asize;
    if (sslcodes_proxy_dest(buf, n, &back) != n || back.family != d->family
        || back.port != d->port || memcmp(back.addr, d->addr, 16) != 0) {
        abort();
    }
}

static void sslcodes_check_dest(const uint8_t *data, size_t size,
                                sslcodes_first_e all)
{
    static const unsigned char zero[16];
    sslcodes_proxy_dst d, part;
    size_t hlen = sslcodes_proxy_dest(data, size, &d), need = 0;

    if (hlen != d.header_len || hlen > size
        || (d.family == SSLCODES_PROXY_NONE) != (d.port == 0)
        || d.port > 65535
        || (d.family == SSLCODES_PROXY_NONE
            && memcmp(d.addr, zero, sizeof(zero)) != 0)
        || (d.family == SSLCODES_PROXY_TCP4
            && memcmp(d.addr + 4, zero, 12) != 0)) {
        abort();
    }
    if (hlen == 0) {
        return;
    }
    /* The header alone gives the same answer, one byte less none. */
    if (sslcodes_proxy_dest(data, hlen, &part) != hlen
        || !sslcodes_same_dst(&d, &part)
        || sslcodes_proxy_dest(data, hlen - 1, &part) != 0
        || part.family != SSLCODES_PROXY_NONE) {
        abort();
    }
    /* The classifier skips exactly this header. */
    if (hlen + 1 <= SSLCODES_PEEK_MAX) {
        if (sslcodes_classify(data, hlen, 0, &need) != SSLCODES_FIRST_MORE
            || need != hlen + 1) {
            abort();
        }
        if (size > hlen
            && all != ((data[hlen] == 0x16 || (data[hlen] & 0x80))
                       ? SSLCODES_FIRST_TLS : SSLCODES_FIRST_PLAIN)) {
            abort();
        }
    }
    if (d.family != SSLCODES_PROXY_NONE) {
        sslcodes_check_round_trip(&d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sslcodes_first_e all;

    if (size > SSLCODES_PEEK_MAX) {
        size = SSLCODES_PEEK_MAX;
    }
    sslcodes_check_classify(data, size, &all);
    sslcodes_check_dest(data, size, all);
    return 0;
}
