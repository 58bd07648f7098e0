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
 * sslcodes_parse_action.c: the arguments of SSLCodesErrorDocument, as
 * words, into the codes, the =STATUS and the action.  Plain C, no httpd,
 * so that the unit tests and the fuzzer call it directly.
 */

#include <string.h>

#include "sslcodes_parse.h"

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

/* As with core's ErrorDocument, the first bytes tell a local URL, an
 * external URL and text apart; quotes only turn a keyword into text. */
static void sslcodes_action_kind(const char *w, int quoted,
                                 sslcodes_action_spec *out)
{
    static const struct {
        const char *word;
        sslcodes_act_kind_e kind;
    } keywords[] = {
        { "default", SSLCODES_ACT_DEFAULT },
        { "https", SSLCODES_ACT_HTTPS },
        { "close", SSLCODES_ACT_CLOSE }
    };
    size_t i;

    for (i = 0; !quoted && i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (strcmp(w, keywords[i].word) == 0) {
            out->kind = keywords[i].kind;
            return;
        }
    }
    if (w[0] == '/') {
        out->kind = SSLCODES_ACT_LOCAL;
    }
    else if (sslcodes_is_url(w)) {
        out->kind = SSLCODES_ACT_EXTERNAL;
    }
    else {
        out->kind = SSLCODES_ACT_TEXT;
    }
    out->arg = w;
    out->is_expr = strstr(w, "%{") != NULL;
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

    sslcodes_action_kind(argv[i], quoted[i], out);
    if ((w = sslcodes_action_check(out)) != NULL) {
        *bad = i;
    }
    return w;
}
