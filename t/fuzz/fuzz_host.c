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
 * libFuzzer target: nginx's $host (SSLCODES_HOST), $request_uri and the
 * https action's Location.  A host that normalises is short enough, carries
 * only host characters, and normalises to itself again.  Whatever the Host
 * and the request target, the Location is this vhost's authority followed
 * by '/'.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sslcodes_parse.h"

/* The https action as the module runs it: the client's host only when it
 * is one of the vhost's names, else ServerName; then the Location. */
static void sslcodes_fuzz_location(const char *host, size_t hlen,
                                   const char *target, unsigned port)
{
    static const char *const names[] = { "localhost", "a.test", "[::1]" };
    char norm[256], prefix[300], *loc;
    const char *pick = names[0];
    size_t len, i;
    int n = sslcodes_host_normalize(host, hlen, norm, sizeof(norm));

    for (i = 0; n > 0 && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(norm, names[i]) == 0) {
            pick = names[i];
        }
    }
    len = sslcodes_https_location(NULL, 0, pick, port, target);
    loc = malloc(len + 1);
    if (sslcodes_https_location(loc, len + 1, pick, port, target) != len
        || strlen(loc) != len) {
        abort();
    }
    if (port == 443) {
        snprintf(prefix, sizeof(prefix), "https://%s/", pick);
    }
    else {
        snprintf(prefix, sizeof(prefix), "https://%s:%u/", pick, port);
    }
    if (strncmp(loc, prefix, strlen(prefix)) != 0) {
        abort();                /* the authority was left */
    }
    free(loc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[256], again[256];
    char *in = malloc(size + 1);
    const char *uri, *nl;
    int n, m, i;

    memcpy(in, data, size);
    in[size] = '\0';
    n = sslcodes_host_normalize(in, size, out, sizeof(out));
    if (n >= (int)sizeof(out)) {
        abort();
    }
    if (n >= 0) {
        for (i = 0; i < n; i++) {
            char ch = out[i];
            if (ch < 0x21 || ch > 0x7e || ch == '/' || (ch >= 'A' && ch <= 'Z')) {
                abort();
            }
        }
        m = sslcodes_host_normalize(out, (size_t)n, again, sizeof(again));
        if (m != n || memcmp(out, again, (size_t)n) != 0) {
            abort();
        }
    }
    uri = sslcodes_request_uri(in);
    if (strcmp(uri, "/") != 0
        && (uri < in || uri > in + strlen(in) || (*uri != '/' && *uri != '?'))) {
        abort();                /* "/", or a pointer to a path or query */
    }

    /* "Host\ntarget": the Location for that pair, on a port from the
     * input too. */
    nl = memchr(in, '\n', strlen(in));
    sslcodes_fuzz_location(in, nl ? (size_t)(nl - in) : strlen(in),
                           nl ? nl + 1 : "/",
                           size ? 1 + (data[0] * 257u) % 65535 : 443);
    free(in);
    return 0;
}
