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
 * sslcodes_parse_ocsp.c: the OCSP answers kept in the shared cache, as
 * bytes: a cache shared with other processes (or other hosts, for
 * memcache and redis) is read as untrusted input.  Plain C, no httpd.
 */

#include <string.h>

#include "sslcodes_parse.h"

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
