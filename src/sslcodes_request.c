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
 * sslcodes_request.c: the module's request hooks, and the one place where
 * a request is decided.
 *
 * sslcodes_decide() asks each part what it says about a request, once,
 * in the phase where that is known, and gathers the first refusal into a
 * verdict (sslcodes_private.h): the code, the reason, the vhost whose
 * settings apply, and whether caches must stay out.
 *
 *   post_read_request    the connection: plain HTTP on a TLS port (497,
 *                        or mod_ssl's 400), and the client certificate
 *                        (495, 496, 421), before any module maps the URL
 *   post_perdir_config   SSLCodesVerifyClient of the mapped location
 *   insert_error_filter  httpd's own refusal of an oversized header (494),
 *                        and a subrequest's refusal passed on as its
 *                        parent's status
 *
 * sslcodes_answer() (sslcodes_response.c) then answers the verdict, and
 * the access log shows it.  The other hooks here keep error documents and
 * internal redirects to what was decided.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "http_vhost.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

typedef enum {
    SSLCODES_AT_READ,         /* post_read_request, the client's request */
    SSLCODES_AT_LOCATION,     /* post_perdir_config: the URL is mapped    */
    SSLCODES_AT_ERROR         /* insert_error_filter: an error answer     */
} sslcodes_phase_e;

/* --- Deciding ------------------------------------------------------------ */

/*
 * An absolute-form target names the virtual host, as in nginx, also with
 * "https://": that is the port's scheme.  Core takes the host only when
 * the scheme is the connection's, and a plain connection's is http.
 */
static void sslcodes_absolute_vhost(request_rec *r)
{
    const char *hostname = r->hostname;

    if (!r->parsed_uri.hostname || !r->parsed_uri.scheme
        || strcasecmp(r->parsed_uri.scheme, "https") != 0) {
        return;
    }
    r->hostname = r->parsed_uri.hostname;
    ap_update_vhost_from_headers(r);
    if (r->status != HTTP_OK) {
        /* Not a valid host: keep what Host chose, as core would. */
        r->status = HTTP_OK;
        r->hostname = hostname;
        return;
    }
    r->per_dir_config = r->server->lookup_defaults;
    if (APLOGrtrace1(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "absolute-form "
                      "target chose vhost %s", r->server->server_hostname);
    }
}

/* A refusal of the client certificate: 496, 495 with its X.509 error as
 * mod_ssl's variables show it, or 421. */
static void sslcodes_decide_cert(request_rec *r, sslcodes_verdict *v,
                                 int code, long err)
{
    v->code = code;
    if (code == 496) {
        v->reason = "client sent no required SSL certificate";
    }
    else if (code == 495) {
        v->reason = "client SSL certificate verify error";
        v->verify_error = err;
        v->verify_text = sslcodes_verify_error_text(r->pool, err);
        v->client_verify = ap_ssl_var_lookup(r->pool, r->server,
                                             r->connection, r,
                                             "SSL_CLIENT_VERIFY");
    }
}

/* The connection, for the request the client sent on it. */
static void sslcodes_decide_read(request_rec *r, sslcodes_conn *cc,
                                 sslcodes_verdict *v)
{
    if (cc->first == SSLCODES_CONN_PLAIN) {
        sslcodes_absolute_vhost(r);
        v->server = r->server;
        v->port = sslcodes_client_port(r->connection);
        v->reason = "client sent plain HTTP request to HTTPS port";
        v->code = sslcodes_srv(r->server)->enabled ? 497 : HTTP_BAD_REQUEST;
        return;
    }
    v->code = sslcodes_verify_check(r, cc);
    if (v->code != OK) {
        sslcodes_decide_cert(r, v, v->code, cc->verify_error);
    }
}

/* Whatever R's status, is it refused, and why?  Returns 1 with V filled
 * in, else 0. */
static int sslcodes_decide(request_rec *r, sslcodes_phase_e phase,
                           sslcodes_verdict *v)
{
    const sslcodes_verdict *pending;
    sslcodes_conn *cc;

    memset(v, 0, sizeof(*v));
    v->server = r->server;
    switch (phase) {
    case SSLCODES_AT_READ:
        if ((cc = sslcodes_conn_get(r->connection)) != NULL) {
            sslcodes_decide_read(r, cc, v);
        }
        break;
    case SSLCODES_AT_LOCATION:
        if (sslcodes_perdir_decide(r, v) != OK) {
            sslcodes_decide_cert(r, v, v->code, v->verify_error);
        }
        if (v->no_cache) {
            sslcodes_perdir_no_cache(r);
        }
        break;
    case SSLCODES_AT_ERROR:
        if (sslcodes_limits_too_large(r, &v->reason)) {
            v->code = 494;
            v->server = r->server;            /* the vhost SNI chose */
        }
        else if ((pending = sslcodes_perdir_pending(r)) != NULL) {
            *v = *pending;
            v->server = r->server;
        }
        break;
    }
    return v->code != OK;
}

/* Why nothing but the module's answers may run on R's connection, or
 * NULL when it is not such a connection. */
static const char *sslcodes_fail_closed(request_rec *r, sslcodes_conn *cc)
{
    if (cc->first == SSLCODES_CONN_PLAIN) {
        return "a plain HTTP connection to a TLS port";
    }
    if (sslcodes_verify_failed(r, cc)) {
        return "a connection whose client certificate failed";
    }
    return NULL;
}

/*
 * R is the internal redirect of core's local ErrorDocument for the
 * request before it.  Is that request one the module must answer itself
 * (a 494, a subrequest's 496 or 495 passed on, also from a per-directory
 * RewriteRule's redirect) or silence (444, on what the client sent)?
 */
static int sslcodes_original_is_ours(request_rec *r)
{
    request_rec *orig = r->prev;

    if (sslcodes_perdir_pending(orig)) {
        return 1;
    }
    if (orig->prev) {
        return 0;
    }
    return orig->status == SSLCODES_CLOSE
           || sslcodes_limits_too_large(orig, NULL);
}

/* --- Hooks --------------------------------------------------------------- */

int sslcodes_create_request(request_rec *r)
{
    /* Only a request read from the wire. */
    if (r->main || r->prev) {
        return OK;
    }
    sslcodes_conn_request_starts(r);
    sslcodes_limits_note_lines(r);
    return OK;
}

/* An internal redirect: an error document carries over the module's
 * answer, or runs only where nothing but that answer may. */
static int sslcodes_redirected(request_rec *r)
{
    const sslcodes_verdict *v = sslcodes_verdict_of(r->prev);
    sslcodes_conn *cc;
    const char *why;

    if (v) {
        sslcodes_answer_carry_over(r, v);
        return DECLINED;
    }
    if (sslcodes_original_is_ours(r)) {
        return sslcodes_answer_original(r, NULL);
    }
    cc = sslcodes_conn_get(r->connection);
    if (cc && (why = sslcodes_fail_closed(r, cc)) != NULL) {
        return sslcodes_answer_original(r, why);
    }
    return DECLINED;
}

/* The request R that the client sent on CC: decided and answered.  Apart
 * from the hook so that the hook, which most requests leave at once,
 * keeps no verdict on its stack. */
static int sslcodes_answer_read(request_rec *r)
{
    sslcodes_verdict v;

    if (!sslcodes_decide(r, SSLCODES_AT_READ, &v)) {
        return DECLINED;
    }
    return sslcodes_answer(r, &v);
}

int sslcodes_post_read_request(request_rec *r)
{
    sslcodes_conn *cc;

    if (r->prev) {
        return sslcodes_redirected(r);
    }
    /* Most requests: none of the module's business, or a TLS connection
     * with no certificate watched and no failure recorded. */
    cc = sslcodes_conn_get(r->connection);
    if (!cc || (cc->first == SSLCODES_CONN_TLS && !cc->ssl
                && cc->verify_error == X509_V_OK)) {
        return DECLINED;
    }
    return sslcodes_answer_read(r);
}

/* R's location has an SSLCodesVerifyClient of its own: decided and
 * answered, or refused within its parent. */
static int sslcodes_answer_location(request_rec *r)
{
    sslcodes_verdict v;

    if (!sslcodes_decide(r, SSLCODES_AT_LOCATION, &v)) {
        return DECLINED;
    }
    if (r->main) {
        return sslcodes_perdir_refuse_subrequest(r, &v);
    }
    if (r->prev && r->prev->status != HTTP_OK) {
        return sslcodes_perdir_refuse_document(r, &v);
    }
    return sslcodes_answer(r, &v);
}

int sslcodes_post_perdir_config(request_rec *r)
{
    /* The module's own answer and its error document are not asked
     * again: they are what a refused request gets. */
    if (!sslcodes_perdir_applies(r) || sslcodes_verdict_of(r)) {
        return DECLINED;
    }
    return sslcodes_answer_location(r);
}

/*
 * Runs in ap_send_error_response() for every error answer, before core
 * picks its text.  A verdict found here is answered whole by a nested
 * ap_die(), the way post_read_request answers 497, so every
 * SSLCodesErrorDocument form works; the answer core had begun then sends
 * nothing more.  R's configuration is the one core chose before the error
 * (for 494: on TLS, the vhost SNI chose; on plain HTTP, the address's
 * default vhost, as Host may not have been read; see
 * sslcodes_limits_note_lines()).  Otherwise 444 is silenced, and 499 is
 * watched for on answers that no handler made.
 */
void sslcodes_insert_error_filter(request_rec *r)
{
    sslcodes_verdict v;
    int status;

    if (!sslcodes_verdict_of(r)
        && sslcodes_decide(r, SSLCODES_AT_ERROR, &v)) {
        /* Core's own external ErrorDocument 400 set a Location. */
        apr_table_unset(r->headers_out, "Location");
        /* ap_die() takes a request whose status is not 200 for a
         * recursive error, and would then skip the module's document. */
        r->status = HTTP_OK;
        r->status_line = NULL;
        status = sslcodes_answer(r, &v);
        ap_die(status, r);
        r->header_only = 1;
        r->eos_sent = 1;
        return;
    }
    if (r->status == SSLCODES_CLOSE) {
        sslcodes_limits_close(r);
        return;
    }
    sslcodes_limits_watch(r);
}

/* Right before the handler, after every fixup that can make a fast
 * internal redirect. */
void sslcodes_insert_filter(request_rec *r)
{
    sslcodes_perdir_remark(r);
    sslcodes_limits_watch(r);
}

/*
 * When a local error document fails (missing, denied), core sends the
 * answered request's own page with its status, but the access log reads
 * the last request of the chain, the failed document.  Make that say what
 * went on the wire: for an SSLCodesErrorDocument, and for a core
 * ErrorDocument that a location's SSLCodesVerifyClient refused.
 */
int sslcodes_log_transaction(request_rec *r)
{
    const sslcodes_verdict *v;
    request_rec *last = r;
    int sent;

    if (!r->next) {
        return DECLINED;
    }
    v = sslcodes_verdict_of(r);
    while (last->next) {
        last = last->next;
    }
    /* A refused ErrorDocument: core sent the status it was for. */
    if ((sent = sslcodes_perdir_logged_status(r)) > 0) {
        last->status = sent;
        return DECLINED;
    }
    if (v && last->status != v->status && ap_is_HTTP_ERROR(last->status)) {
        /* Its document ended with an error of its own (denied, missing,
         * answered 444 by a default vhost's "Redirect 444 /", or a
         * backend's error): say so, as the log's status is the 49x's. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0108)
                      "the error document %s for %d ended with status %d "
                      "(vhost %s:%u); the access log keeps %d",
                      ap_escape_logitem(r->pool, last->uri), v->code,
                      last->status, r->server->server_hostname,
                      sslcodes_vhost_port(r->server), v->status);
        last->status = v->status;
    }
    return DECLINED;
}
