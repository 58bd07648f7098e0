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
 * libFuzzer target: nginx's $host (SSLCODES_HOST) and $request_uri.
 * A host that normalises is short enough, carries only host characters,
 * and normalises to itself again.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sslcodes_pure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[256], again[256];
    char *in = malloc(size + 1);
    const char *uri;
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
    if (uri != in && strcmp(uri, "/") != 0
        && (uri < in || uri > in + strlen(in))) {
        abort();                /* a pointer into the input, or "/" */
    }
    free(in);
    return 0;
}
