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
 * libFuzzer target: the first-bytes classifier with PROXY v1/v2 headers.
 * Checks its promises on every input, and that feeding the same bytes
 * one at a time never disagrees with feeding them at once.
 */

#include <stdint.h>
#include <stdlib.h>

#include "sslcodes_pure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t need = 0, len;
    sslcodes_first_e all, part;

    if (size > SSLCODES_PEEK_MAX) {
        size = SSLCODES_PEEK_MAX;
    }
    all = sslcodes_classify(data, size, 0, &need);
    if (all == SSLCODES_FIRST_MORE && (need <= size || need > SSLCODES_PEEK_MAX)) {
        abort();                /* must ask for more than it has, within bounds */
    }
    if (sslcodes_classify(data, size, 1, &need) == SSLCODES_FIRST_MORE) {
        abort();                /* at EOF it must decide */
    }
    /* Growing the input one byte at a time: once decided, never changed. */
    for (len = 0; len <= size; len++) {
        part = sslcodes_classify(data, len, 0, &need);
        if (part != SSLCODES_FIRST_MORE) {
            if (part != all) {
                abort();
            }
            break;
        }
        if (need <= len) {
            abort();
        }
    }
    return 0;
}
