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
 * sslcodes_init.c: startup.  Defaults are resolved once the config is
 * merged (check_config, which configtest runs too, with the checks of
 * sslcodes_checks.c); each TLS server is set up as mod_ssl sets it up;
 * then the module decides which connections it needs to look at.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include "apr_strings.h"

#include <openssl/ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

static int sslcodes_ocsp_in_use(server_rec *main_s)
{
    server_rec *s;

    for (s = main_s; s; s = s->next) {
        if (sslcodes_srv(s)->ocsp_ready) {
            return 1;
        }
    }
    return 0;
}

/* After mod_ssl's post_config: the vhosts that check OCSP are known, and
 * the cache is set up only if there are any. */
static int sslcodes_ocsp_post_config(apr_pool_t *pconf, server_rec *main_s)
{
    return sslcodes_ocsp_cache_post_config(pconf, main_s,
                                           sslcodes_ocsp_in_use(main_s));
}

/* --- Which servers need the module --------------------------------------- */

static int sslcodes_wants_497(const sslcodes_srv_conf *sc)
{
    return sc->enabled;
}

/*
 * Could OpenSSL's chain, built on each handshake, ever differ from CHAIN,
 * built now for LEAF?  It could where the store reads a directory
 * (SSLCACertificatePath, or an SSLOpenSSLConfCmd line, which may name one
 * or a chain store of its own): a file added there later is found then.
 * And it could where a certificate has more than one candidate issuer in
 * the store (a cross-signed intermediate, a renewed one): OpenSSL prefers
 * the one valid at the time of each handshake.
 */
static int sslcodes_chain_is_stable(const sslcodes_srv_conf *sc,
                                    SSL_CTX *ctx, X509 *leaf,
                                    STACK_OF(X509) *chain)
{
    STACK_OF(X509_OBJECT) *objs;
    X509 *c, *x;
    int i, j, n;

    if (sc->trust[1] || sc->trust[SSLCODES_TRUST_CONF_CMD]) {
        return 0;
    }
    objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    for (i = -1; i < (chain ? sk_X509_num(chain) : 0); i++) {
        c = i < 0 ? leaf : sk_X509_value(chain, i);
        for (n = 0, j = 0; j < sk_X509_OBJECT_num(objs); j++) {
            x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, j));
            if (x && X509_check_issued(x, c) == X509_V_OK && ++n > 1) {
                return 0;
            }
        }
    }
    return 1;
}

/*
 * A certificate without a chain of its own (SSLCertificateFile holds the
 * leaf alone, and no SSLCertificateChainFile) makes OpenSSL build the
 * chain from the vhost's CA store on every handshake: a verification of
 * the server's own chain each time.  On the module's vhosts it is built
 * once here instead, from the same store and as leniently (a chain that
 * cannot be completed is sent as far as it goes, and the root goes out as
 * well), so the certificates on the wire are byte for byte what stock
 * sends, as long as the server runs (sslcodes_chain_is_stable()).  A
 * certificate with a chain, or an SSL_CTX where OpenSSL would not build
 * one, is left alone.
 */
static void sslcodes_build_chains(server_rec *s, SSL_CTX *ctx)
{
    const unsigned long flags = SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR
                                | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR;
    X509 *current = SSL_CTX_get0_certificate(ctx), *leaf;
    STACK_OF(X509) *chain = NULL;
    char subject[256];
    int more, n;

    SSL_CTX_get_extra_chain_certs_only(ctx, &chain);
    if (chain || (SSL_CTX_get_mode(ctx) & SSL_MODE_NO_AUTO_CHAIN)) {
        return;
    }
    for (more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); more;
         more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
        leaf = SSL_CTX_get0_certificate(ctx);
        if (!leaf || !SSL_CTX_get0_chain_certs(ctx, &chain) || chain) {
            continue;
        }
        if (!SSL_CTX_build_cert_chain(ctx, flags)) {
            /* Left to OpenSSL at each handshake, as in stock. */
            ERR_clear_error();
            continue;
        }
        SSL_CTX_get0_chain_certs(ctx, &chain);
        if (!sslcodes_chain_is_stable(sslcodes_srv(s), ctx, leaf, chain)) {
            /* As in stock again: built at each handshake. */
            SSL_CTX_clear_chain_certs(ctx);
            continue;
        }
        n = chain ? sk_X509_num(chain) : 0;
        X509_NAME_oneline(X509_get_subject_name(leaf), subject,
                          sizeof(subject));
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, SSLCODES_LOGNO(0008)
                     "vhost %s:%u: the chain of %s is built once at startup "
                     "(%d certificate%s after it)", s->server_hostname,
                     sslcodes_vhost_port(s), subject, n, n == 1 ? "" : "s");
    }
    /* mod_ssl left a current certificate; so does this. */
    for (more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
         more && SSL_CTX_get0_certificate(ctx) != current;
         more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
    }
}

/* mod_ssl runs this for every server it sets up for TLS, including one
 * enabled only by "Listen ... https" with a certificate.  OCSP is set up
 * first: it needs to see mod_ssl's own verify mode before the wrapper
 * replaces it. */
int sslcodes_init_server(server_rec *s, apr_pool_t *p, int is_proxy,
                         SSL_CTX *ctx)
{
    sslcodes_srv_conf *sc = sslcodes_srv(s);

    if (is_proxy) {
        return OK;
    }
    sc->is_tls = 1;
    sslcodes_verify_note_ctx(s, ctx);
    sslcodes_session_init_server(s, ctx);
    if (sc->enabled || sslcodes_wants_verify(sc)) {
        sslcodes_build_chains(s, ctx);
    }
    if (!sslcodes_wants_verify(sc)) {
        return OK;
    }
    if (sslcodes_ocsp_init_server(s, p, ctx) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return sslcodes_verify_init_server(s, ctx);
}

static int sslcodes_same_address(const server_addr_rec *a,
                                 const server_addr_rec *b)
{
    if (a->host_port && b->host_port && a->host_port != b->host_port) {
        return 0;
    }
    return apr_sockaddr_is_wildcard(a->host_addr)
        || apr_sockaddr_is_wildcard(b->host_addr)
        || apr_sockaddr_equal(a->host_addr, b->host_addr);
}

static int sslcodes_share_address(const server_rec *a, const server_rec *b)
{
    const server_addr_rec *x, *y;

    for (x = a->addrs; x; x = x->next) {
        for (y = b->addrs; y; y = y->next) {
            if (sslcodes_same_address(x, y)) {
                return 1;
            }
        }
    }
    return 0;
}

static int sslcodes_wants_494(const sslcodes_srv_conf *sc)
{
    return sc->header_too_large;
}

/* Does TLS server S, or a name-based sibling on its address, want this?
 * The main server is no one's sibling: it only takes connections that no
 * vhost address matches. */
static int sslcodes_address_wants(server_rec *main_s, server_rec *s,
                                  int (*wants)(const sslcodes_srv_conf *))
{
    server_rec *t;

    if (!sslcodes_srv(s)->is_tls) {
        return 0;
    }
    if (wants(sslcodes_srv(s))) {
        return 1;
    }
    for (t = main_s->next; t && s != main_s; t = t->next) {
        if (wants(sslcodes_srv(t)) && sslcodes_share_address(s, t)) {
            return 1;
        }
    }
    return 0;
}

/* Where a server's connections need the module at all.  Everywhere else
 * it never touches a connection. */
static void sslcodes_derive(server_rec *main_s)
{
    server_rec *s;
    sslcodes_srv_conf *sc;

    for (s = main_s; s; s = s->next) {
        sc = sslcodes_srv(s);
        sc->classify = sslcodes_address_wants(main_s, s, sslcodes_wants_497);
        sc->watch_verify = sslcodes_address_wants(main_s, s,
                                                  sslcodes_wants_verify);
        /* On TLS, the vhost SNI chose decides 494; on plain HTTP, the
         * address's default vhost. */
        sc->watch_494 = sc->is_tls
                        ? sslcodes_address_wants(main_s, s, sslcodes_wants_494)
                        : sc->header_too_large;
    }
}

int sslcodes_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    sslcodes_watch_pre_config();
    return sslcodes_ocsp_cache_pre_config(pconf);
}

/* Before mod_ssl's post_config, whose init_server hook reads what is set
 * here. */
int sslcodes_post_config_before_ssl(apr_pool_t *pconf, apr_pool_t *plog,
                                    apr_pool_t *ptemp, server_rec *main_s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    sslcodes_session_pre_ssl(main_s);
    return OK;
}

int sslcodes_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *main_s)
{
    (void)plog;
    (void)ptemp;
    sslcodes_derive(main_s);
    if (sslcodes_ocsp_post_config(pconf, main_s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sslcodes_status_post_config(main_s);

    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        /* Name the OpenSSL that is loaded, which is the one that runs.  A
         * library updated or downgraded without a rebuild differs from
         * the headers the module was compiled with; say so then. */
        const char *running = OpenSSL_version(OPENSSL_VERSION);
        int same = strcmp(running, OPENSSL_VERSION_TEXT) == 0;

        ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_s,
                     SSLCODES_LOGNO(0001) "mod_sslcodes/%s loaded "
                     "(httpd %s, %s%s%s)", MOD_SSLCODES_VERSION,
                     ap_get_server_description(), running,
                     same ? "" : ", built with ",
                     same ? "" : OPENSSL_VERSION_TEXT);
    }
    return OK;
}

/*
 * Runs once the config is read and merged, before any post_config hook,
 * on every start and restart and also for "apachectl configtest" (httpd
 * -t), which stops before post_config: what is checked here stops
 * configtest as it stops startup.  What sslcodes_init_server() checks on
 * mod_ssl's SSL_CTX is checked here first from the configuration's lines,
 * so that configtest refuses what startup would.  The dumps (-M, -S,
 * -D DUMP_*) only show the config, so nothing is refused for them.
 */
int sslcodes_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *main_s)
{
    server_rec *s;

    (void)pconf;
    (void)plog;
    /* Every (re)start passes here first: the defaults are resolved here,
     * once, for everything that runs after. */
    for (s = main_s; s; s = s->next) {
        sslcodes_resolve_defaults(s, sslcodes_srv(s));
    }
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_DUMP) {
        return OK;
    }
    return sslcodes_check_lines(main_s, ptemp);
}

void sslcodes_child_init(apr_pool_t *p, server_rec *s)
{
    sslcodes_ocsp_cache_child_init(p, s);
    sslcodes_watch_child_init(p, s);
}
