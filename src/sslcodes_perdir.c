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
 * sslcodes_perdir.c: SSLCodesVerifyClient in <Location>, <Directory>,
 * <Files> and .htaccess.
 *
 * mod_ssl's per-directory SSLVerifyClient asks for a certificate when the
 * URL is known: a TLS 1.2 renegotiation or a TLS 1.3 post-handshake
 * request, which HTTP/2 forbids and Chrome refuses.  Here the handshake
 * of a vhost with any such section already asked, optionally (see
 * sslcodes_wants_verify()), and each path decides over the certificate it
 * got, as nginx's "ssl_verify_client optional" with a check per location.
 *
 * A failed certificate was refused for the whole connection before the
 * URL was mapped (sslcodes_verify_check()); what is left to decide here
 * is a missing certificate, and the issuer errors that a vhost's
 * optional_no_ca forgave but the location does not.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"

#include "apr_strings.h"

#include <openssl/x509_vfy.h>

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

/*
 * On a connection the module does not watch (a vhost whose handshake it
 * never asked, reached through .htaccess), only mod_ssl's view is known.
 * A certificate mod_ssl accepted only as GENEROUS (its optional_no_ca)
 * had an untrusted issuer.
 */
static int sslcodes_perdir_by_vars(request_rec *r, int mode, long *err)
{
    const char *v = NULL;

    if (ap_ssl_conn_is_ssl(r->connection)) {
        v = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                              "SSL_CLIENT_VERIFY");
    }
    if (v && strcmp(v, "SUCCESS") == 0) {
        return OK;
    }
    if (!v || !*v || strcmp(v, "NONE") == 0) {
        return mode == SSLCODES_VERIFY_ON ? 496 : OK;
    }
    if (mode == SSLCODES_VERIFY_OPTIONAL_NO_CA
        && strcmp(v, "GENEROUS") == 0) {
        return OK;
    }
    *err = X509_V_ERR_CERT_UNTRUSTED;
    return 495;
}

static int sslcodes_perdir_by_mode(request_rec *r, int mode, long *err)
{
    sslcodes_conn *cc = sslcodes_conn_get(r->connection);

    if (cc && cc->ssl) {
        *err = cc->verify_error;
        return sslcodes_verify_decide(r, cc, mode);
    }
    return sslcodes_perdir_by_vars(r, mode, err);
}

/*
 * --- Caches ---------------------------------------------------------------
 *
 * One rule, by construction: a response that a per-location decision took
 * part in is never stored by a cache.  The mark is r->no_cache, set on the
 * request that decided and on every request its response is part of: the
 * parents of a subrequest (an SSI include, mod_dir's index, a
 * mod_negotiation variant, mod_autoindex's listing checks) and the requests
 * an internal redirect came from.  mod_cache reads the flag when a response
 * starts, and both of its providers (disk, socache) read it again at the
 * end of the body and discard what they stored: an include decided halfway
 * through a page still keeps the page out.  ap_internal_fast_redirect()
 * keeps r->no_cache && rr->no_cache, so both are marked.  Since nothing
 * protected is ever stored, mod_cache's quick handler, which answers
 * before any location is looked at, has nothing protected to serve.
 *
 * Only a decision that could refuse a client who got this far marks:
 * "on", or "optional" where the vhost forgives issuer errors.  A vhost's
 * own mode was enforced in post_read_request, before mod_cache, so the
 * requests that merely inherit it keep their caching headers (core adds
 * Expires: <now> to any no_cache response).
 */
static int sslcodes_perdir_can_refuse(const sslcodes_srv_conf *sc, int mode)
{
    return mode == SSLCODES_VERIFY_ON
        || (mode == SSLCODES_VERIFY_OPTIONAL
            && sc->verify != SSLCODES_VERIFY_OPTIONAL
            && sc->verify != SSLCODES_VERIFY_ON);
}

#define SSLCODES_TAINT_KEY "sslcodes_perdir_no_cache"

/* Set once any SSLCodesVerifyClient is read in a section or .htaccess:
 * only then is the mark looked for on every request. */
static int sslcodes_perdir_used;

void sslcodes_perdir_in_use(void)
{
    sslcodes_perdir_used = 1;
}

static request_rec *sslcodes_perdir_top(request_rec *r)
{
    while (r->main) {
        r = r->main;
    }
    return r;
}

static void sslcodes_perdir_mark(request_rec *r)
{
    request_rec *q;

    for (q = r; q; q = q->main ? q->main : q->prev) {
        q->no_cache = 1;
    }
}

/* The mark is also kept in the pool that the client's request shares
 * with its subrequests and internal redirects, because a later fast
 * redirect to an unprotected subrequest (mod_dir's FallbackResource, an
 * absolute DirectoryIndex) resets r->no_cache: it is set again right
 * before the handler runs (sslcodes_perdir_remark()). */
void sslcodes_perdir_no_cache(request_rec *r)
{
    apr_pool_userdata_setn((void *)1, SSLCODES_TAINT_KEY, NULL,
                           sslcodes_perdir_top(r)->pool);
    sslcodes_perdir_mark(r);
}

/* Right before the handler: mod_cache's save filter reads r->no_cache
 * once the response starts. */
void sslcodes_perdir_remark(request_rec *r)
{
    void *taint = NULL;

    if (!sslcodes_perdir_used) {
        return;
    }
    apr_pool_userdata_get(&taint, SSLCODES_TAINT_KEY, r->pool);
    if (taint) {
        sslcodes_perdir_mark(r);
    }
}

/* --- Refusals inside another request ------------------------------------- */

#define SSLCODES_PENDING_KEY "sslcodes_perdir_pending"
#define SSLCODES_DOCUMENT_NOTE "sslcodes-refused-document"

/* For the log: what the client did to be refused with CODE. */
static const char *sslcodes_perdir_why(int code)
{
    return code == 496 ? "sent no required SSL certificate"
                       : "SSL certificate failed verification";
}

/*
 * A subrequest is only refused: its parent decides what the client gets
 * (mod_include shows its error text, mod_autoindex leaves the entry out).
 * Where the parent passes the subrequest's status on as its own (mod_dir,
 * mod_negotiation), sslcodes_insert_error_filter() answers it as the 496
 * or 495 it is (sslcodes_perdir_pending()), so what is sent and what is
 * logged agree.
 */
int sslcodes_perdir_refuse_subrequest(request_rec *r,
                                      const sslcodes_verdict *v)
{
    request_rec *top = sslcodes_perdir_top(r);
    sslcodes_verdict *pd = apr_pmemdup(top->pool, v, sizeof(*v));

    /* Kept on the request the client sent, whose pool its subrequests
     * and internal redirects share; R's pool goes with R. */
    pd->verify_text = apr_pstrdup(top->pool, v->verify_text);
    pd->client_verify = apr_pstrdup(top->pool, v->client_verify);
    apr_pool_userdata_setn(pd, SSLCODES_PENDING_KEY, NULL, top->pool);
    /* Inside an ErrorDocument (its index, say): should the document fail
     * for it, core sends the original status, and the log must too. */
    if (top->prev && top->prev->status != HTTP_OK) {
        apr_table_setn(top->notes, SSLCODES_DOCUMENT_NOTE, "1");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0510)
                  "subrequest for \"%s\" refused: %d (client %s; vhost "
                  "%s:%u)", ap_escape_logitem(r->pool, r->uri), v->code,
                  sslcodes_perdir_why(v->code),
                  r->server->server_hostname,
                  r->connection->local_addr->port);
    return v->code;
}

/*
 * An ErrorDocument's internal redirect to a protected path: the document
 * is refused as any failed document is, and core sends the original
 * request's status with its built-in page.  The note lets
 * sslcodes_perdir_logged_status() log that status, not the refusal.
 */
int sslcodes_perdir_refuse_document(request_rec *r,
                                    const sslcodes_verdict *v)
{
    apr_table_setn(r->notes, SSLCODES_DOCUMENT_NOTE, "1");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0511)
                  "ErrorDocument \"%s\" for status %d refused: %d (client "
                  "%s; vhost %s:%u); sending httpd's own page",
                  ap_escape_logitem(r->pool, r->uri), r->prev->status,
                  v->code, sslcodes_perdir_why(v->code),
                  r->server->server_hostname,
                  r->connection->local_addr->port);
    return v->code;
}

/* The 496 or 495 that a subrequest of R was refused with, when R itself
 * now fails with it; else NULL. */
const sslcodes_verdict *sslcodes_perdir_pending(request_rec *r)
{
    sslcodes_verdict *pd = NULL;

    if (r->main || !sslcodes_perdir_used) {
        return NULL;
    }
    apr_pool_userdata_get((void **)&pd, SSLCODES_PENDING_KEY, r->pool);
    return pd && pd->code == r->status ? pd : NULL;
}

/*
 * The status the access log should show for the chain that starts at R:
 * where an ErrorDocument was refused, core sent the first failed request
 * of the chain, not the document.  -1 when there is nothing to correct.
 */
int sslcodes_perdir_logged_status(request_rec *r)
{
    request_rec *last = r;

    while (last->next) {
        last = last->next;
    }
    if (last == r || !apr_table_get(last->notes, SSLCODES_DOCUMENT_NOTE)) {
        return -1;
    }
    while (last->prev && last->prev->status != HTTP_OK) {
        last = last->prev;
    }
    return last->status;
}

/* What the location's SSLCodesVerifyClient says about R: OK, or the 496
 * or 495 in V.  V->no_cache says whether the decision could refuse. */
int sslcodes_perdir_decide(request_rec *r, sslcodes_verdict *v)
{
    sslcodes_dir_conf *dc = sslcodes_dir(r);
    sslcodes_srv_conf *sc = sslcodes_srv(r->server);
    long err = X509_V_OK;
    int mode;

    if (!sslcodes_perdir_applies(r)) {
        return OK;
    }
    mode = dc->verify != SSLCODES_UNSET ? dc->verify : sc->verify;
    if (mode == SSLCODES_VERIFY_OFF) {
        return OK;
    }
    v->no_cache = sslcodes_perdir_can_refuse(sc, mode);
    v->code = sslcodes_perdir_by_mode(r, mode, &err);
    v->verify_error = err;
    return v->code;
}
