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
 * libFuzzer target: OCSP responder URLs (from client certificates) and
 * OCSP cache entries.  A URL that parses gives parts that fit a request
 * line and a Host header, and parses to the same parts again; an entry
 * that decodes is well-formed and encodes back to the same bytes.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sslcodes_parse.h"

static void check_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    if (n == 0 || n >= max) {
        abort();
    }
    while (*s) {
        if (*s <= 0x20 || *s >= 0x7f) {
            abort();
        }
        s++;
    }
}

static void check_url(const uint8_t *data, size_t size)
{
    sslcodes_url u, again;
    char text[SSLCODES_URL_HOST_MAX + SSLCODES_URL_PATH_MAX + 16];
    unsigned long port;

    if (sslcodes_url_parse((const char *)data, size, &u) != 0) {
        return;
    }
    check_text(u.host, sizeof(u.host));
    check_text(u.port, sizeof(u.port));
    check_text(u.path, sizeof(u.path));
    port = strtoul(u.port, NULL, 10);
    if (u.path[0] != '/' || port < 1 || port > 65535
        || strchr(u.host, '@') || strchr(u.path, '#')) {
        abort();
    }
    snprintf(text, sizeof(text), "http://%s:%s%s", u.host, u.port, u.path);
    if (sslcodes_url_parse(text, strlen(text), &again) != 0
        || strcmp(u.host, again.host) || strcmp(u.port, again.port)
        || strcmp(u.path, again.path)) {
        abort();
    }
}

static void check_entry(const uint8_t *data, size_t size)
{
    sslcodes_ocsp_entry e;
    unsigned char out[SSLCODES_OCSP_ENTRY_LEN];

    if (sslcodes_ocsp_entry_decode(data, size, &e) != 0) {
        return;
    }
    if (e.status < 0 || e.status > 2 || e.reason < -1 || e.reason > 10
        || e.next_update < 0
        || (e.next_update && e.next_update < e.this_update)) {
        abort();
    }
    sslcodes_ocsp_entry_encode(&e, out);
    if (memcmp(out, data, sizeof(out)) != 0) {
        abort();
    }
    (void)sslcodes_ocsp_entry_expiry(&e, -1);
    (void)sslcodes_ocsp_entry_expiry(&e, 300);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_url(data, size);
    check_entry(data, size);
    return 0;
}
