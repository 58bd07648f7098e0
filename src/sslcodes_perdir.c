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
#include "http_request.h"
#include "http_ssl.h"

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

static int sslcodes_perdir_decide(request_rec *r, int mode, long *err)
{
    sslcodes_conn *cc = sslcodes_conn_get(r->connection);

    if (cc && cc->ssl) {
        *err = cc->verify_error;
        return sslcodes_verify_decide(r, cc, mode);
    }
    return sslcodes_perdir_by_vars(r, mode, err);
}

/* A subrequest (an SSI include, mod_dir's index lookup, mod_rewrite's
 * look-ahead) is only refused: its parent decides what the client gets,
 * and the connection is left as it is. */
static int sslcodes_perdir_refuse_subrequest(request_rec *r, int code)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0510)
                  "subrequest for \"%s\" refused: %d (client %s; vhost "
                  "%s:%u)", ap_escape_logitem(r->pool, r->uri), code,
                  code == 496 ? "sent no required SSL certificate"
                              : "SSL certificate failed verification",
                  r->server->server_hostname,
                  r->connection->local_addr->port);
    return code;
}

int sslcodes_perdir_check(request_rec *r)
{
    sslcodes_dir_conf *dc = sslcodes_dir(r);
    sslcodes_srv_conf *sc = sslcodes_srv(r->server);
    long err = X509_V_OK;
    int mode, code;

    if (!dc || (dc->verify == SSLCODES_UNSET && !sc->dir_verify)) {
        return DECLINED;
    }
    /* The module's own answer and its error document are not asked
     * again: they are what a refused request gets. */
    if (ap_get_module_config(r->request_config, &sslcodes_module)) {
        return DECLINED;
    }
    mode = dc->verify != SSLCODES_UNSET ? dc->verify : sc->verify;
    if (mode == SSLCODES_VERIFY_OFF) {
        return DECLINED;
    }
    /* What this decides must not be kept by mod_cache: its quick handler
     * answers from the cache before any location is consulted. */
    r->no_cache = 1;
    code = sslcodes_perdir_decide(r, mode, &err);
    if (code == OK) {
        return DECLINED;
    }
    if (r->main) {
        return sslcodes_perdir_refuse_subrequest(r, code);
    }
    return sslcodes_answer_verify(r, code, err);
}
