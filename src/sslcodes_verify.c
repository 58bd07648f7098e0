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
 * sslcodes_verify.c: SSLCodesVerifyClient.  Ask for a client certificate
 * during the handshake, let a bad or missing one through to HTTP, and
 * answer it there with 495 or 496, as nginx's ssl_verify_client does.
 *
 * The handshake must survive a bad certificate, yet nothing may ever see
 * it as verified.  So the verify callback on the server's SSL_CTX records
 * the failure and tells OpenSSL "go on", and the session is spoiled for
 * resumption.  Every request then writes the failure back as the
 * connection's verify result, again after mod_ssl's access hook, so that
 * mod_ssl's variables tell the truth.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_ssl.h"
#include "ap_expr.h"

#include "apr_strings.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

/* SSL_CTX ex_data slot holding the server_rec whose verify mode applies. */
static int sslcodes_ctx_idx = -1;

/* mod_ssl's own verify callback, called for what OpenSSL accepted. */
static SSL_verify_cb sslcodes_modssl_verify;

/* The session id context a failed session is moved to: one that no
 * virtual host uses, so neither cache nor ticket can resume it. */
static const unsigned char sslcodes_spoiled[] = "mod_sslcodes:verify-failed";

/* mod_ssl's and nginx's list of errors that "optional_no_ca" forgives:
 * the issuer is unknown or untrusted, the certificate itself is fine. */
int sslcodes_verify_error_is_optional(long err)
{
    return err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        || err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        || err == X509_V_ERR_CERT_UNTRUSTED
        || err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

static sslcodes_conn *sslcodes_conn_state(conn_rec *c)
{
    sslcodes_conn *cc = ap_get_module_config(c->conn_config,
                                             &sslcodes_module);

    return cc ? cc : sslcodes_conn_new(c, SSLCODES_CONN_TLS);
}

/* No ticket (TLS 1.2 or 1.3) is issued for this handshake any more, and
 * the session moves to a context of its own.  SSL_OP_NO_TICKET would be
 * too late here, and removing the session from the cache would not reach
 * tickets. */
static void sslcodes_spoil_session(SSL *ssl)
{
    SSL_SESSION *sess = SSL_get_session(ssl);

    SSL_set_num_tickets(ssl, 0);
    if (sess) {
        SSL_SESSION_set1_id_context(sess, sslcodes_spoiled,
                                    sizeof(sslcodes_spoiled) - 1);
    }
}

/*
 * The verify callback on every SSL_CTX governed by SSLCodesVerifyClient.
 * A failure is recorded, the store is told X509_V_OK and verification
 * goes on; mod_ssl's callback is not called for it, since it would mark
 * the connection for abort.  What OpenSSL accepts goes to mod_ssl as ever.
 */
static int sslcodes_verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store,
                   SSL_get_ex_data_X509_STORE_CTX_idx());
    conn_rec *c = ssl ? SSL_get_app_data(ssl) : NULL;
    server_rec *s = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                                              sslcodes_ctx_idx) : NULL;
    int depth = X509_STORE_CTX_get_error_depth(store);
    long err = X509_STORE_CTX_get_error(store);
    sslcodes_conn *cc;

    if (!c || !s) {
        return sslcodes_modssl_verify ? sslcodes_modssl_verify(ok, store)
                                      : ok;
    }
    /* mod_ssl makes these two checks only when its own SSLVerifyClient is
     * on; here it is not, so they are made here, the same way. */
    if (!ok && err == X509_V_ERR_UNABLE_TO_GET_CRL
        && sslcodes_srv(s)->crl_optional) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        ok = 1;
    }
    if (ok && depth > sslcodes_srv(s)->verify_depth) {
        ok = 0;
        err = X509_V_ERR_CERT_CHAIN_TOO_LONG;
    }
    /* mod_ssl's OCSP check, which its callback makes only under its own
     * SSLVerifyClient: for a certificate that passed every other check,
     * on a connection with no failure yet (after one, the answer is 495
     * whatever the responder says). */
    if (ok && sslcodes_ocsp_applies(s, depth)
        && sslcodes_conn_state(c)->verify_error == X509_V_OK) {
        err = sslcodes_ocsp_check(s, c, store);
        ok = err == X509_V_OK;
    }
    if (ok) {
        return sslcodes_modssl_verify ? sslcodes_modssl_verify(ok, store)
                                      : ok;
    }

    cc = sslcodes_conn_state(c);
    if (cc->verify_error == X509_V_OK) {
        sslcodes_spoil_session(ssl);
    }
    /* Keep the error that matters most: one that optional_no_ca does not
     * forgive beats one that it does. */
    if (cc->verify_error == X509_V_OK
        || (sslcodes_verify_error_is_optional(cc->verify_error)
            && !sslcodes_verify_error_is_optional(err))) {
        cc->verify_error = err;
    }
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c,
                  "client certificate at depth %d failed: (%ld:%s)", depth,
                  err, X509_verify_cert_error_string(err));
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
}

/* Where only 494 needs to know the handshake's vhost, the SSL is kept
 * under this key of the connection's pool. */
#define SSLCODES_TLS_KEY "sslcodes_tls"

int sslcodes_pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    const sslcodes_srv_conf *sc = sslcodes_srv(c->base_server);
    sslcodes_conn *cc;

    if (is_proxy) {
        return DECLINED;
    }
    if (sc->watch_verify) {
        cc = sslcodes_conn_state(c);
        cc->ssl = ssl;
        /* To write a failure back once the handshake is over. */
        sslcodes_conn_watch(c, cc);
    }
    else if (sc->watch_494) {
        apr_pool_userdata_setn(ssl, SSLCODES_TLS_KEY, NULL, c->pool);
    }
    return DECLINED;
}

static int sslcodes_verify_startup_error(server_rec *s, const char *why)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, SSLCODES_LOGNO(0003)
                 "SSLCodesVerifyClient in vhost %s:%u: %s",
                 s->server_hostname, sslcodes_vhost_port(s), why);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* Every TLS server's SSL_CTX names its server: after SNI, the SSL_CTX of
 * a connection tells which virtual host checked the client certificate. */
void sslcodes_verify_note_ctx(server_rec *s, SSL_CTX *ctx)
{
    if (sslcodes_ctx_idx < 0) {
        sslcodes_ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                    NULL);
    }
    SSL_CTX_set_ex_data(ctx, sslcodes_ctx_idx, s);
}

/* The server whose SSL_CTX this is, or NULL for one mod_ssl set up
 * without telling (a proxy's). */
server_rec *sslcodes_ctx_server(SSL_CTX *ctx)
{
    return sslcodes_ctx_idx < 0 || !ctx
           ? NULL : SSL_CTX_get_ex_data(ctx, sslcodes_ctx_idx);
}

/* The virtual host whose SSL_CTX C's handshake ended with: the one that
 * SNI chose, else the address's default.  NULL on a connection that is
 * not TLS, or whose SSL the module did not keep (see
 * sslcodes_pre_handshake()), or whose SSL mod_ssl has freed: a failed
 * handshake, or plain HTTP that mod_ssl answers itself, still reach the
 * request hooks. */
server_rec *sslcodes_tls_server(conn_rec *c)
{
    sslcodes_conn *cc = sslcodes_conn_get(c);
    void *ssl = cc ? cc->ssl : NULL;

    if (c->master) {
        c = c->master;
    }
    if (!ap_ssl_conn_is_ssl(c)) {
        return NULL;
    }
    if (!ssl) {
        apr_pool_userdata_get(&ssl, SSLCODES_TLS_KEY, c->pool);
    }
    return ssl ? sslcodes_ctx_server(SSL_get_SSL_CTX(ssl)) : NULL;
}

/* What mod_ssl's own server-level SSLVerifyClient line asks for, read as
 * mod_ssl reads it ("on" is require, "off" none). */
int sslcodes_modssl_verify_line(const sslcodes_srv_conf *sc, apr_pool_t *p)
{
    const char *v = sc->trust[SSLCODES_TRUST_MODSSL_VERIFY];
    const char *w = v ? ap_getword_conf(p, &v) : "none";

    if (strcasecmp(w, "none") == 0 || strcasecmp(w, "off") == 0) {
        return SSLCODES_MODSSL_NONE;
    }
    if (strcasecmp(w, "require") == 0 || strcasecmp(w, "on") == 0) {
        return SSLCODES_MODSSL_REQUIRE;
    }
    return SSLCODES_MODSSL_ASKS;
}

/* Why S cannot start: the same words for configtest and for startup. */
#define SSLCODES_WHY_REQUIRE "cannot be combined with \"SSLVerifyClient " \
    "require\", which ends the handshake before HTTP can answer"
#define SSLCODES_WHY_NO_CA "needs the CAs to accept, from " \
    "SSLCACertificateFile or SSLCACertificatePath"

/*
 * The checks of sslcodes_verify_init_server(), made from the lines mod_ssl
 * was given, for a server it will set up for TLS: configtest runs no
 * post_config, so this is where it learns of them.  (CA names that an
 * SSLOpenSSLConfCmd line gives OpenSSL are not mod_ssl's client-CA list,
 * which startup looks at: they do not count here either.)
 */
int sslcodes_verify_check_lines(server_rec *s, apr_pool_t *p)
{
    const sslcodes_srv_conf *sc = sslcodes_srv(s);

    if (sslcodes_modssl_verify_line(sc, p) == SSLCODES_MODSSL_REQUIRE) {
        return sslcodes_verify_startup_error(s, SSLCODES_WHY_REQUIRE);
    }
    if (!sc->trust[0] && !sc->trust[1]) {
        return sslcodes_verify_startup_error(s, SSLCODES_WHY_NO_CA);
    }
    return OK;
}

/* Put the wrapper on S's SSL_CTX, after mod_ssl has configured it. */
int sslcodes_verify_init_server(server_rec *s, SSL_CTX *ctx)
{
    STACK_OF(X509_NAME) *cas = SSL_CTX_get_client_CA_list(ctx);

    if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) {
        return sslcodes_verify_startup_error(s, SSLCODES_WHY_REQUIRE);
    }
    if (!cas || sk_X509_NAME_num(cas) <= 0) {
        return sslcodes_verify_startup_error(s, SSLCODES_WHY_NO_CA);
    }
    if (SSL_CTX_get_verify_callback(ctx) != sslcodes_verify_cb) {
        sslcodes_modssl_verify = SSL_CTX_get_verify_callback(ctx);
    }
    /* Ask for a certificate, and never fail the handshake for want of
     * one: 496 is an HTTP answer. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, sslcodes_verify_cb);
    return OK;
}

/* mod_ssl's access hook has just reset a TLS 1.2 connection's verify
 * result: see sslcodes_conn_sync_verify(). */
int sslcodes_verify_access(request_rec *r)
{
    sslcodes_conn *cc = sslcodes_conn_get(r->connection);

    if (cc) {
        sslcodes_conn_sync_verify(r->connection, cc);
    }
    return DECLINED;
}

/* %{SSL_CLIENT_VERIFY} and %{SSL:...} in any ap_expr, SSLRequire
 * included: mod_ssl evaluates SSLRequire right after its TLS 1.2 reset, so
 * the value is made truthful at the moment it is read. */
static const char *sslcodes_expr_ssl_var(ap_expr_eval_ctx_t *ctx,
                                         const char *var)
{
    conn_rec *c = ctx->r ? ctx->r->connection : ctx->c;
    sslcodes_conn *cc = c ? sslcodes_conn_get(c) : NULL;

    if (cc) {
        sslcodes_conn_sync_verify(c, cc);
    }
    return c ? ap_ssl_var_lookup(ctx->p, ctx->s, c, ctx->r, var) : NULL;
}

static const char *sslcodes_expr_client_verify(ap_expr_eval_ctx_t *ctx,
                                               const void *data)
{
    (void)data;
    return sslcodes_expr_ssl_var(ctx, "SSL_CLIENT_VERIFY");
}

static const char *sslcodes_expr_ssl_func(ap_expr_eval_ctx_t *ctx,
                                          const void *data, const char *arg)
{
    (void)data;
    return sslcodes_expr_ssl_var(ctx, arg);
}

int sslcodes_verify_expr_lookup(ap_expr_lookup_parms *parms)
{
    if (parms->type == AP_EXPR_FUNC_VAR
        && strcmp(parms->name, "SSL_CLIENT_VERIFY") == 0) {
        *parms->func = sslcodes_expr_client_verify;
    }
    else if (parms->type == AP_EXPR_FUNC_STRING
             && strcmp(parms->name, "SSL") == 0) {
        *parms->func = sslcodes_expr_ssl_func;
    }
    else {
        return DECLINED;
    }
    *parms->data = NULL;
    return OK;
}

static int sslcodes_has_peer_cert(SSL *ssl)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return SSL_get0_peer_certificate(ssl) != NULL;
#else
    X509 *x = SSL_get_peer_certificate(ssl);

    X509_free(x);
    return x != NULL;
#endif
}

const char *sslcodes_verify_error_text(apr_pool_t *p, long err)
{
    return apr_psprintf(p, "%ld:%s", err, X509_verify_cert_error_string(err));
}

/* Does the failure recorded on CC stand for R's virtual host?  Only the
 * issuer errors that optional_no_ca forgives are let through.  Not over
 * HTTP/2 with TLS 1.2: there mod_ssl's reset on one stream could show
 * another stream SUCCESS for a moment. */
static int sslcodes_failed_under(request_rec *r, sslcodes_conn *cc, int mode)
{
    if (cc->verify_error == X509_V_OK) {
        return 0;
    }
    return !(mode == SSLCODES_VERIFY_OPTIONAL_NO_CA
             && sslcodes_verify_error_is_optional(cc->verify_error)
             && !(r->connection->master
                  && SSL_version(cc->ssl) < TLS1_3_VERSION));
}

int sslcodes_verify_failed(request_rec *r, sslcodes_conn *cc)
{
    return sslcodes_failed_under(r, cc, sslcodes_srv(r->server)->verify);
}

static int sslcodes_str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Would R's virtual host trust the client certificate that the handshake's
 * virtual host (chosen by SNI, or the address's default) checked?  Only if
 * it is the same vhost, or one with the same client-CA lines. */
static int sslcodes_trusted_here(request_rec *r, sslcodes_conn *cc)
{
    server_rec *hs = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(cc->ssl),
                                         sslcodes_ctx_idx);
    const sslcodes_srv_conf *a, *b;
    int i;

    if (hs == r->server) {
        return 1;
    }
    if (!hs) {
        return 0;
    }
    a = sslcodes_srv(hs);
    b = sslcodes_srv(r->server);
    for (i = 0; i < SSLCODES_NTRUST; i++) {
        if (!sslcodes_str_same(a->trust[i], b->trust[i])) {
            return 0;
        }
    }
    return 1;
}

/* 495, 421, 496 or OK for a request on CC under MODE, nginx's table. */
int sslcodes_verify_decide(request_rec *r, sslcodes_conn *cc, int mode)
{
    int has_cert;

    sslcodes_conn_sync_verify(r->connection, cc);
    if (sslcodes_failed_under(r, cc, mode)) {
        /* Never served, in whatever vhost. */
        return 495;
    }
    if (!cc->ssl) {
        return OK;
    }
    has_cert = sslcodes_has_peer_cert(cc->ssl);
    if (has_cert && !sslcodes_trusted_here(r, cc)) {
        /* Checked against another vhost's CAs (Host names a sibling of
         * the SNI or default vhost): it proves nothing here. */
        return HTTP_MISDIRECTED_REQUEST;
    }
    if (!has_cert && mode == SSLCODES_VERIFY_ON) {
        return 496;
    }
    return OK;
}

int sslcodes_verify_check(request_rec *r, sslcodes_conn *cc)
{
    sslcodes_srv_conf *sc = sslcodes_srv(r->server);
    int code = sslcodes_verify_decide(r, cc, sc->verify);

    /* Where SSLCodesVerifyClient appears in a location, a missing
     * certificate is decided once the URL is mapped (sslcodes_perdir.c):
     * the location may open or close the path.  A failed one is refused
     * here, for the whole connection.  TRACE never gets that far: httpd
     * answers it while mapping the URL. */
    if (code == 496 && (sc->dir_verify & SSLCODES_DIR_SEEN)
        && r->method_number != M_TRACE) {
        return OK;
    }
    return code;
}
