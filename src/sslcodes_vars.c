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
 * sslcodes_vars.c: nginx's $host and $request_uri, as SSLCODES_HOST and
 * SSLCODES_REQUEST_URI in ap_expr, for SSLCodesErrorDocument and any other
 * expression; the https action builds its Location from the same host.
 */

#include "httpd.h"
#include "http_config.h"
#include "ap_expr.h"

#include "apr_strings.h"

#include "sslcodes_private.h"

/* Error documents and expressions speak of the request the client sent,
 * not of the internal redirect that serves the document. */
request_rec *sslcodes_original(request_rec *r)
{
    while (r->prev) {
        r = r->prev;
    }
    return r;
}

const char *sslcodes_host(request_rec *r)
{
    char buf[256];
    const char *raw;
    int n;

    r = sslcodes_original(r);
    if (r->parsed_uri.hostname) {
        raw = r->parsed_uri.hostname;
        if (ap_strchr_c(raw, ':')) {     /* apr_uri_parse strips [ ] */
            raw = apr_pstrcat(r->pool, "[", raw, "]", NULL);
        }
    }
    else {
        raw = apr_table_get(r->headers_in, "Host");
    }
    if (raw) {
        n = sslcodes_host_normalize(raw, strlen(raw), buf, sizeof(buf));
        if (n > 0) {
            return apr_pstrmemdup(r->pool, buf, n);
        }
    }
    return r->server->server_hostname;
}

static const char *sslcodes_expr_var_host(ap_expr_eval_ctx_t *ctx,
                                          const void *data)
{
    (void)data;
    return ctx->r ? sslcodes_host(ctx->r) : NULL;
}

/* nginx's $request_uri, which always starts with '/'. */
static const char *sslcodes_req_uri(request_rec *r)
{
    const char *uri = sslcodes_request_uri(sslcodes_original(r)->unparsed_uri);

    return uri[0] == '?' ? apr_pstrcat(r->pool, "/", uri, NULL) : uri;
}

static const char *sslcodes_expr_var_request_uri(ap_expr_eval_ctx_t *ctx,
                                                 const void *data)
{
    (void)data;
    return ctx->r ? sslcodes_req_uri(ctx->r) : NULL;
}

int sslcodes_expr_lookup(ap_expr_lookup_parms *parms)
{
    if (parms->type != AP_EXPR_FUNC_VAR) {
        return DECLINED;
    }
    if (strcasecmp(parms->name, "SSLCODES_HOST") == 0) {
        *parms->func = sslcodes_expr_var_host;
    }
    else if (strcasecmp(parms->name, "SSLCODES_REQUEST_URI") == 0) {
        *parms->func = sslcodes_expr_var_request_uri;
    }
    else {
        return DECLINED;
    }
    *parms->data = NULL;
    return OK;
}
