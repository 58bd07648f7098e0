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
 * sslcodes_checks.c: what stops startup, and configtest before it.  Each
 * check is made twice, in the same words: from the configuration's lines
 * in check_config, which configtest runs too (sslcodes_check_lines()),
 * and on the SSL_CTX that mod_ssl makes for each TLS server, at startup
 * (sslcodes_ocsp_init_server(), sslcodes_verify_init_server()).
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_listen.h"

#include "apr_strings.h"

#include <openssl/ssl.h>
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

/* For a TLS vhost that asks for certificates, as mod_ssl sets it up;
 * before the module's callback is put on CTX, so that mod_ssl's own
 * verify mode can still be seen. */
int sslcodes_ocsp_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    return sslcodes_ocsp_settings(s, p,
                                  SSL_CTX_get_verify_mode(ctx)
                                  & SSL_VERIFY_PEER,
                                  &sslcodes_srv(s)->ocsp_ready);
}

/* --- Startup checks ----------------------------------------------------- */

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

/* --- What configtest can check before mod_ssl has run ------------------- */

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

/* Everything check_config refuses: the load order, then what each TLS
 * server's SSL_CTX would refuse at startup. */
int sslcodes_check_lines(server_rec *main_s, apr_pool_t *ptemp)
{
    if (sslcodes_check_load_order(main_s) != OK
        || sslcodes_check_tls_lines(main_s, ptemp) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}
