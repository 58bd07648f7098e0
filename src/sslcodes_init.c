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
 * sslcodes_init.c: startup.  Defaults are resolved, and what needs no
 * SSL_CTX is checked, once the config is merged (check_config, which
 * configtest runs too); each TLS server is checked as mod_ssl sets it up;
 * then the module decides which connections it needs to look at, and
 * checks what can only be checked once every server is known.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_listen.h"

#include "apr_strings.h"

#include <openssl/ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#ifndef OPENSSL_NO_OCSP
#include <openssl/ocsp.h>
#endif

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

/* --- mod_ssl's OCSP settings, for SSLCodesVerifyClient ------------------- */

static int sslcodes_ocsp_startup_error(server_rec *s, const char *directive,
                                       const char *why)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, SSLCODES_LOGNO(0507)
                 "%s in vhost %s:%u: %s; client certificates cannot be "
                 "checked with OCSP there, so the server does not start",
                 directive, s->server_hostname, sslcodes_vhost_port(s), why);
    return HTTP_INTERNAL_SERVER_ERROR;
}

#ifndef OPENSSL_NO_OCSP

static sslcodes_url *sslcodes_ocsp_url(apr_pool_t *p, const char *text)
{
    sslcodes_url *u = apr_palloc(p, sizeof(*u));

    return sslcodes_url_parse(text, strlen(text), u) == 0 ? u : NULL;
}

static apr_status_t sslcodes_ocsp_free_certs(void *data)
{
    sk_X509_pop_free(data, X509_free);
    return APR_SUCCESS;
}

/* Every certificate in the PEM file, or NULL. */
static STACK_OF(X509) *sslcodes_ocsp_read_certs(apr_pool_t *p,
                                                const char *file)
{
    STACK_OF(X509) *certs;
    BIO *in = BIO_new_file(file, "r");
    X509 *x;

    if (!in || !(certs = sk_X509_new_null())) {
        BIO_free(in);
        return NULL;
    }
    while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            break;
        }
    }
    BIO_free(in);
    ERR_clear_error();               /* the end of the file */
    if (sk_X509_num(certs) == 0) {
        sk_X509_free(certs);
        return NULL;
    }
    apr_pool_cleanup_register(p, certs, sslcodes_ocsp_free_certs,
                              apr_pool_cleanup_null);
    return certs;
}

/* Make S's OCSP settings ready in OS, or say which one cannot be used. */
static int sslcodes_ocsp_prepare(server_rec *s, apr_pool_t *p,
                                 sslcodes_ocsp_srv *os)
{
    const sslcodes_srv_conf *sc = sslcodes_srv(s);

    if (sc->ocsp_override && !sc->ocsp_responder) {
        return sslcodes_ocsp_startup_error(s, "SSLOCSPOverrideResponder",
            "'on' needs SSLOCSPDefaultResponder");
    }
    if (sc->ocsp_responder
        && !(os->responder = sslcodes_ocsp_url(p, sc->ocsp_responder))) {
        return sslcodes_ocsp_startup_error(s, "SSLOCSPDefaultResponder",
            apr_psprintf(p, "'%s' is not an http:// URL",
                         sc->ocsp_responder));
    }
    if (sc->ocsp_proxy
        && !(os->proxy = sslcodes_ocsp_url(p, sc->ocsp_proxy))) {
        return sslcodes_ocsp_startup_error(s, "SSLOCSPProxyURL",
            apr_psprintf(p, "'%s' is not an http:// URL", sc->ocsp_proxy));
    }
    if (sc->ocsp_certs_file) {
        if (!(os->certs = sslcodes_ocsp_read_certs(p, sc->ocsp_certs_file))) {
            return sslcodes_ocsp_startup_error(s,
                "SSLOCSPResponderCertificateFile",
                apr_psprintf(p, "no certificate could be read from '%s'",
                             sc->ocsp_certs_file));
        }
        /* As mod_ssl: these responders are trusted as they are. */
        os->verify_flags = OCSP_TRUSTOTHER;
    }
    return OK;
}

#endif /* OPENSSL_NO_OCSP */

/*
 * For a vhost whose handshake the module's verify callback watches.
 * MODSSL_VERIFIES: mod_ssl's own SSLVerifyClient asks for a certificate
 * there.  READY, when given, gets the settings made ready; configtest
 * only checks them (sslcodes_check_tls_lines()).
 */
static int sslcodes_ocsp_settings(server_rec *s, apr_pool_t *p,
                                  int modssl_verifies,
                                  sslcodes_ocsp_srv **ready)
{
#ifndef OPENSSL_NO_OCSP
    sslcodes_ocsp_srv *os;
#endif

    if (sslcodes_srv(s)->ocsp == SSLCODES_OCSP_OFF) {
        return OK;
    }
#ifdef OPENSSL_NO_OCSP
    (void)p;
    (void)modssl_verifies;
    (void)ready;
    return sslcodes_ocsp_startup_error(s, "SSLOCSPEnable",
                                       "this OpenSSL has no OCSP support");
#else
    /* With its own SSLVerifyClient, mod_ssl's callback would check OCSP
     * again and end the handshake on a failure. */
    if (modssl_verifies) {
        return sslcodes_ocsp_startup_error(s, "SSLOCSPEnable",
            "mod_ssl's SSLVerifyClient is set here as well, and mod_ssl "
            "would check OCSP itself and end the handshake; use "
            "SSLCodesVerifyClient alone");
    }
    os = apr_pcalloc(p, sizeof(*os));
    if (sslcodes_ocsp_prepare(s, p, os) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ready) {
        *ready = os;
    }
    return OK;
#endif
}

/* Before the module's callback is put on CTX, so that mod_ssl's own
 * verify mode can still be seen. */
static int sslcodes_ocsp_init_server(server_rec *s, apr_pool_t *p,
                                     SSL_CTX *ctx)
{
    return sslcodes_ocsp_settings(s, p,
                                  SSL_CTX_get_verify_mode(ctx)
                                  & SSL_VERIFY_PEER,
                                  &sslcodes_srv(s)->ocsp_ready);
}

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

/* The handshake asks for a certificate: SSLCodesVerifyClient says so for
 * the vhost or for one of its locations. */
static int sslcodes_wants_verify(const sslcodes_srv_conf *sc)
{
    return sc->verify != SSLCODES_VERIFY_OFF
        || (sc->dir_verify & SSLCODES_DIR_ASKS);
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

/* Which module, of those whose directives this one reads as they go by,
 * was loaded after this one, and so was asked for them first?  httpd asks
 * the most recently loaded module first. */
static int sslcodes_loaded_later(const char *name)
{
    module *m;

    for (m = ap_top_module; m && m != &sslcodes_module; m = m->next) {
        if (strcmp(m->name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

static int sslcodes_check_load_order(server_rec *main_s)
{
    server_rec *s;
    int verify = 0, classify = 0;

    for (s = main_s; s; s = s->next) {
        verify |= sslcodes_wants_verify(sslcodes_srv(s));
        classify |= sslcodes_srv(s)->enabled;
    }
    if ((verify || classify) && sslcodes_loaded_later("mod_ssl.c")) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_s,
                     SSLCODES_LOGNO(0004) "%s needs \"LoadModule "
                     "sslcodes_module\" to come after \"LoadModule "
                     "ssl_module\", to see SSLVerifyDepth, "
                     "SSLCARevocationCheck, the SSLCA* lines and the "
                     "SSLOCSP* settings",
                     verify ? "SSLCodesVerifyClient" : "SSLCodes");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (classify && sslcodes_loaded_later("mod_reqtimeout.c")) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_s,
                     SSLCODES_LOGNO(0005) "SSLCodes needs \"LoadModule "
                     "sslcodes_module\" to come after \"LoadModule "
                     "reqtimeout_module\", to see RequestReadTimeout's "
                     "handshake= stage");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* --- What configtest can check before mod_ssl has run --------------------- */

/* The protocol of S's first address that a Listen line names, as core
 * sets it for a server without a Protocol line once it opens the
 * listeners, after configtest has ended. */
static const char *sslcodes_listen_protocol(server_rec *s)
{
    server_addr_rec *a;
    ap_listen_rec *lr;

    for (a = s->addrs; a; a = a->next) {
        for (lr = ap_listeners; lr; lr = lr->next) {
            if (apr_sockaddr_equal(lr->bind_addr, a->host_addr)
                && lr->bind_addr->port == a->host_port) {
                return lr->protocol;
            }
        }
    }
    return NULL;
}

/* Will mod_ssl set S up for TLS (and run sslcodes_init_server() for it)?
 * As mod_ssl decides: "SSLEngine on" or "optional", or no SSLEngine line,
 * a certificate and an https address.  When in doubt, no: startup still
 * checks every server mod_ssl sets up. */
static int sslcodes_will_be_tls(server_rec *s)
{
    const sslcodes_srv_conf *sc = sslcodes_srv(s);
    const char *protocol;

    if (sc->ssl_engine != SSLCODES_UNSET) {
        return sc->ssl_engine == SSLCODES_ENGINE_ON;
    }
    if (sc->ssl_cert != 1) {
        return 0;
    }
    protocol = ap_get_server_protocol(s);
    if (!protocol) {
        protocol = sslcodes_listen_protocol(s);
    }
    return protocol && strcmp(protocol, "https") == 0;
}

/* What sslcodes_init_server() and the OCSP cache's setup will refuse,
 * found from the configuration's lines alone, in the same order and
 * words. */
static int sslcodes_check_tls_lines(server_rec *main_s, apr_pool_t *ptemp)
{
    server_rec *s;
    const sslcodes_srv_conf *sc;
    int modssl_verifies, ocsp = 0;

    for (s = main_s; s; s = s->next) {
        sc = sslcodes_srv(s);
        if (!sslcodes_wants_verify(sc) || !sslcodes_will_be_tls(s)) {
            continue;
        }
        modssl_verifies = sslcodes_modssl_verify_line(sc, ptemp)
                          != SSLCODES_MODSSL_NONE;
        if (sslcodes_ocsp_settings(s, ptemp, modssl_verifies, NULL) != OK
            || sslcodes_verify_check_lines(s, ptemp) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        ocsp |= sc->ocsp != SSLCODES_OCSP_OFF;
    }
    return sslcodes_ocsp_cache_check(main_s, ptemp, ocsp);
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
    if (sslcodes_check_load_order(main_s) != OK
        || sslcodes_check_tls_lines(main_s, ptemp) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void sslcodes_child_init(apr_pool_t *p, server_rec *s)
{
    sslcodes_ocsp_cache_child_init(p, s);
    sslcodes_watch_child_init(p, s);
}
