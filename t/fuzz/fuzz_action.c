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
 * libFuzzer target: the SSLCodesErrorDocument argument parser.  Input is
 * split into words at NUL bytes; a word's first byte, if it is '"', marks it
 * quoted (and is dropped).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sslcodes_parse.h"

#define MAX_WORDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    const char *argv[MAX_WORDS];
    int quoted[MAX_WORDS];
    int argc = 0, bad;
    size_t i = 0;
    sslcodes_action_spec a;
    const char *err;

    memcpy(buf, data, size);
    buf[size] = '\0';
    while (i <= size && argc < MAX_WORDS) {
        char *w = buf + i;
        quoted[argc] = (*w == '"');
        argv[argc] = w + quoted[argc];
        argc++;
        i += strlen(w) + 1;
    }
    err = sslcodes_action_parse(argc, argv, quoted, &a, &bad);
    if (err) {
        if (bad < -1 || bad >= argc) {
            abort();
        }
    }
    else {
        if (a.codes == 0 || (a.codes & ~((1u << SSLCODES_NCODES) - 1))) {
            abort();
        }
        if (a.status && (a.status < 200 || a.status > 599)) {
            abort();
        }
        if (a.kind == SSLCODES_ACT_HTTPS && a.codes != 1u << 3) {
            abort();
        }
        if ((a.kind == SSLCODES_ACT_DEFAULT || a.kind == SSLCODES_ACT_HTTPS
             || a.kind == SSLCODES_ACT_CLOSE) != (a.arg == NULL)) {
            abort();
        }
        if (a.kind == SSLCODES_ACT_CLOSE && a.status) {
            abort();
        }
    }
    free(buf);
    return 0;
}
