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
 * mod_sslcodes: nginx's special TLS status codes for httpd with mod_ssl.
 *
 *   497  plain HTTP sent to a TLS port: read the real request and answer it
 *   496  a client certificate was required and none was sent
 *   495  the client certificate failed verification
 *
 * This file holds the module record, the directives and the hook wiring.
 * The work is done in src/: sslcodes_conn.c looks at a connection's first
 * bytes before mod_ssl does, sslcodes_response.c answers the request,
 * sslcodes_verify.c and sslcodes_ocsp.c check client certificates,
 * sslcodes_perdir.c decides per location, and sslcodes_pure.c holds the
 * parsers that see untrusted bytes.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_connection.h"
#include "ap_expr.h"

#include "apr_strings.h"

#include <openssl/ssl.h>
#include <openssl/crypto.h>

#include "mod_ssl.h"

#include "sslcodes_private.h"

/* mod_ssl's optional hooks.  Debian ships no mod_ssl_openssl.h, so they are
 * declared here with the same signature as httpd 2.4's header. */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, init_server,
                          (server_rec *s, apr_pool_t *p, int is_proxy,
                           SSL_CTX *ctx))
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, pre_handshake,
                          (conn_rec *c, SSL *ssl, int is_proxy))

/* --- Configuration ------------------------------------------------------- */

static void *sslcodes_create_srv(apr_pool_t *p, server_rec *s)
{
    sslcodes_srv_conf *sc = apr_pcalloc(p, sizeof(*sc));

    (void)s;
    sc->enabled = SSLCODES_UNSET;
    sc->verify = SSLCODES_UNSET;
    sc->wire = SSLCODES_UNSET;
    sc->peek_timeout = SSLCODES_UNSET;
    sc->verify_depth = SSLCODES_UNSET;
    sc->crl_optional = SSLCODES_UNSET;
    sc->handshake_timeout = SSLCODES_UNSET;
    sc->header_too_large = SSLCODES_UNSET;
    sc->client_closed = SSLCODES_UNSET;
    /* action: NULL is unset, and so is trust: NULL. */
    sc->dir_verify = SSLCODES_UNSET;
    sc->ocsp = SSLCODES_UNSET;
    sc->ocsp_no_url_ok = SSLCODES_UNSET;
    sc->ocsp_override = SSLCODES_UNSET;
    sc->ocsp_timeout = SSLCODES_UNSET;
    sc->ocsp_skew = SSLCODES_UNSET;
    sc->ocsp_maxage = SSLCODES_UNSET;
    sc->ocsp_nonce = SSLCODES_UNSET;
    sc->ocsp_noverify = SSLCODES_UNSET;
    /* Pointers: NULL is unset.  action: NULL for every code. */
    sc->ocsp_responder = NULL;
    sc->ocsp_certs_file = NULL;
    sc->ocsp_proxy = NULL;
    sc->ocsp_cache = NULL;
    return sc;
}

#define SSLCODES_MERGE(f) \
    m->f = (add->f != SSLCODES_UNSET) ? add->f : base->f
#define SSLCODES_MERGE_PTR(f) \
    m->f = add->f ? add->f : base->f

/* Sections of the server config apply inside every virtual host too, so
 * what they said about SSLCodesVerifyClient adds up. */
static int sslcodes_merge_dir_bits(int base, int add)
{
    if (base == SSLCODES_UNSET) {
        return add;
    }
    return add == SSLCODES_UNSET ? base : (base | add);
}

static void *sslcodes_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const sslcodes_srv_conf *base = basev, *add = addv;
    sslcodes_srv_conf *m = apr_pcalloc(p, sizeof(*m));
    int i;

    SSLCODES_MERGE(enabled);
    SSLCODES_MERGE(verify);
    SSLCODES_MERGE(wire);
    SSLCODES_MERGE(peek_timeout);
    SSLCODES_MERGE(verify_depth);
    SSLCODES_MERGE(crl_optional);
    SSLCODES_MERGE(handshake_timeout);
    SSLCODES_MERGE(header_too_large);
    SSLCODES_MERGE(client_closed);
    /* Error documents are inherited code by code, as mod_ssl inherits
     * each of its client-CA lines. */
    m->dir_verify = sslcodes_merge_dir_bits(base->dir_verify,
                                            add->dir_verify);
    SSLCODES_MERGE(ocsp);
    SSLCODES_MERGE(ocsp_no_url_ok);
    SSLCODES_MERGE_PTR(ocsp_responder);
    SSLCODES_MERGE(ocsp_override);
    SSLCODES_MERGE(ocsp_timeout);
    SSLCODES_MERGE(ocsp_skew);
    SSLCODES_MERGE(ocsp_maxage);
    SSLCODES_MERGE(ocsp_nonce);
    SSLCODES_MERGE(ocsp_noverify);
    SSLCODES_MERGE_PTR(ocsp_certs_file);
    SSLCODES_MERGE_PTR(ocsp_proxy);
    SSLCODES_MERGE_PTR(ocsp_cache);
    /* Error documents are inherited code by code. */
    for (i = 0; i < SSLCODES_NCODES; i++) {
        m->action[i] = add->action[i] ? add->action[i] : base->action[i];
    }
    for (i = 0; i < SSLCODES_NTRUST; i++) {
        m->trust[i] = add->trust[i] ? add->trust[i] : base->trust[i];
    }
    return m;
}

/* mod_ssl's defaults for its OCSP settings (ssl_private.h and
 * ssl_engine_ocsp.c): 10 s to answer, 5 minutes of clock skew, any age
 * up to nextUpdate, and a nonce. */
static void sslcodes_resolve_ocsp_defaults(sslcodes_srv_conf *sc)
{
    if (sc->ocsp == SSLCODES_UNSET) {
        sc->ocsp = SSLCODES_OCSP_OFF;
    }
    if (sc->ocsp_no_url_ok == SSLCODES_UNSET) {
        sc->ocsp_no_url_ok = 0;
    }
    if (sc->ocsp_override == SSLCODES_UNSET) {
        sc->ocsp_override = 0;
    }
    if (sc->ocsp_timeout == SSLCODES_UNSET) {
        sc->ocsp_timeout = apr_time_from_sec(10);
    }
    if (sc->ocsp_skew == SSLCODES_UNSET) {
        sc->ocsp_skew = 300;
    }
    /* ocsp_maxage: UNSET (-1) is mod_ssl's "any age". */
    if (sc->ocsp_nonce == SSLCODES_UNSET) {
        sc->ocsp_nonce = 1;
    }
    if (sc->ocsp_noverify == SSLCODES_UNSET) {
        sc->ocsp_noverify = 0;
    }
}

/* The one place where unset values become defaults.  Runs after merging,
 * so every server_rec holds final values from here on. */
static void sslcodes_resolve_defaults(server_rec *s, sslcodes_srv_conf *sc)
{
    if (sc->enabled == SSLCODES_UNSET) {
        sc->enabled = 0;
    }
    if (sc->verify == SSLCODES_UNSET) {
        sc->verify = SSLCODES_VERIFY_OFF;
    }
    if (sc->wire == SSLCODES_UNSET) {
        sc->wire = SSLCODES_WIRE_NATIVE;
    }
    if (sc->handshake_timeout == SSLCODES_UNSET) {
        sc->handshake_timeout = 0;
    }
    /* The one bound on a new connection's wait for its request line (or
     * TLS handshake): what stock httpd gives a TLS handshake, which is
     * RequestReadTimeout's handshake= stage when set, else Timeout. */
    if (sc->peek_timeout == SSLCODES_UNSET) {
        sc->peek_timeout = sc->handshake_timeout > 0 ? sc->handshake_timeout
                                                     : s->timeout;
    }
    if (sc->verify_depth == SSLCODES_UNSET) {
        sc->verify_depth = 1;                /* mod_ssl's default */
    }
    if (sc->crl_optional == SSLCODES_UNSET) {
        sc->crl_optional = 0;
    }
    if (sc->header_too_large == SSLCODES_UNSET) {
        sc->header_too_large = 0;
    }
    if (sc->client_closed == SSLCODES_UNSET) {
        sc->client_closed = 0;
    }
    if (sc->dir_verify == SSLCODES_UNSET) {
        sc->dir_verify = 0;
    }
    sslcodes_resolve_ocsp_defaults(sc);
}

static void *sslcodes_create_dir(apr_pool_t *p, char *path)
{
    sslcodes_dir_conf *dc = apr_pcalloc(p, sizeof(*dc));

    (void)path;
    dc->verify = SSLCODES_UNSET;
    return dc;
}

static void *sslcodes_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const sslcodes_dir_conf *base = basev, *add = addv;
    sslcodes_dir_conf *m = apr_pcalloc(p, sizeof(*m));

    SSLCODES_MERGE(verify);
    return m;
}

/* --- Directives ---------------------------------------------------------- */

static const char *sslcodes_set_enabled(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    sslcodes_srv(cmd->server)->enabled = on;
    return NULL;
}

static const char *sslcodes_set_header_too_large(cmd_parms *cmd, void *dc,
                                                 int on)
{
    (void)dc;
    sslcodes_srv(cmd->server)->header_too_large = on;
    return NULL;
}

static const char *sslcodes_set_client_closed(cmd_parms *cmd, void *dc,
                                              int on)
{
    (void)dc;
    sslcodes_srv(cmd->server)->client_closed = on;
    return NULL;
}

/* Index of ARG in the NULL-terminated NAMES, ignoring case; -1 if absent. */
static int sslcodes_keyword(const char *arg, const char *const *names)
{
    int i;

    for (i = 0; names[i]; i++) {
        if (strcasecmp(arg, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* A section of S says SSLCodesVerifyClient MODE: S's handshakes must then
 * ask for a certificate, and its 496 waits until the URL is mapped.  An
 * .htaccess file is read per request, long after the handshake was set
 * up, so it cannot change that (see the README). */
static void sslcodes_note_dir_verify(cmd_parms *cmd, int mode)
{
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_RUN_MPM) {
        return;
    }
    if (sc->dir_verify == SSLCODES_UNSET) {
        sc->dir_verify = 0;
    }
    sc->dir_verify |= SSLCODES_DIR_SEEN;
    if (mode != SSLCODES_VERIFY_OFF) {
        sc->dir_verify |= SSLCODES_DIR_ASKS;
    }
}

static const char *sslcodes_set_verify(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    /* In the order of sslcodes_verify_e. */
    static const char *const names[] = {
        "off", "on", "optional", "optional_no_ca", NULL
    };
    int i = sslcodes_keyword(arg, names);

    if (i < 0) {
        return apr_psprintf(cmd->pool, "%s: unknown mode '%s' (expected off, "
                            "on, optional or optional_no_ca)", cmd->cmd->name,
                            arg);
    }
    if (cmd->path) {
        ((sslcodes_dir_conf *)dc)->verify = i;
        sslcodes_note_dir_verify(cmd, i);
        sslcodes_perdir_in_use();
        return NULL;
    }
    sslcodes_srv(cmd->server)->verify = i;
    return NULL;
}

static const char *sslcodes_set_wire(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    /* In the order of sslcodes_wire_e. */
    static const char *const names[] = { "native", "nginx", NULL };
    int i = sslcodes_keyword(arg, names);

    (void)dc;
    if (i < 0) {
        return apr_psprintf(cmd->pool, "%s: unknown value '%s' (expected "
                            "native or nginx)", cmd->cmd->name, arg);
    }
    sslcodes_srv(cmd->server)->wire = i;
    return NULL;
}

static const char *sslcodes_set_peek_timeout(cmd_parms *cmd, void *dc,
                                             const char *arg)
{
    apr_interval_time_t t;

    (void)dc;
    if (ap_timeout_parameter_parse(arg, &t, "s") != APR_SUCCESS
        || t <= 0 || t > apr_time_from_sec(3600)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a timeout (expected "
                            "seconds from 1 to 3600, or e.g. 500ms)",
                            cmd->cmd->name, arg);
    }
    sslcodes_srv(cmd->server)->peek_timeout = t;
    return NULL;
}

/* mod_ssl's client-CA lines, SSLCACertificateFile, SSLCACertificatePath,
 * SSLCARevocationFile, SSLCARevocationPath, SSLVerifyDepth,
 * SSLCARevocationCheck, its own SSLVerifyClient, and SSLOpenSSLConfCmd
 * (which can set the CAs too), kept as written: two vhosts with the same
 * lines trust the same client certificates.  cmd->info is the slot. */
#define SSLCODES_TRUST_DEPTH 4
#define SSLCODES_TRUST_CRL_CHECK 5
#define SSLCODES_TRUST_MODSSL_VERIFY 6
#define SSLCODES_TRUST_CONF_CMD 7

static const char *sslcodes_note_trust(cmd_parms *cmd, void *dc,
                                       const char *args)
{
    int i = (int)(apr_uintptr_t)cmd->info;
    const char **slot = &sslcodes_srv(cmd->server)->trust[i];

    (void)dc;
    if (cmd->path) {
        return DECLINE_CMD;
    }
    /* SSLOpenSSLConfCmd may come many times; every line counts. */
    if (i == SSLCODES_TRUST_CONF_CMD && *slot) {
        *slot = apr_pstrcat(cmd->pool, *slot, "\n", args, NULL);
    }
    else {
        *slot = apr_pstrdup(cmd->pool, args);
    }
    return DECLINE_CMD;
}

/*
 * mod_ssl applies SSLVerifyDepth and "SSLCARevocationCheck ...
 * no_crl_for_cert_ok" in its verify callback, only under its own
 * SSLVerifyClient, and keeps the values to itself.  The module reads the
 * server-level values as they go by and declines them, so mod_ssl still
 * gets and checks them.  This needs the module to be loaded after mod_ssl
 * (see sslcodes_check_load_order()).
 */
static const char *sslcodes_note_verify_depth(cmd_parms *cmd, void *dc,
                                              const char *arg)
{
    char *end;
    long depth = strtol(arg, &end, 10);

    (void)dc;
    if (!cmd->path && *arg && !*end && depth >= 0 && depth <= 100) {
        sslcodes_srv(cmd->server)->verify_depth = (int)depth;
    }
    return sslcodes_note_trust(cmd, dc, arg);
}

/*
 * mod_reqtimeout's "handshake=" stage bounds a stock TLS handshake, and so
 * also this module's wait for a connection's first bytes and request line
 * (see sslcodes_resolve_defaults()).  Read as it goes by, like
 * SSLVerifyDepth: the figure is the stage's maximum.
 */
static const char *sslcodes_note_reqtimeout(cmd_parms *cmd, void *dc,
                                            const char *args)
{
    const char *w, *v;
    apr_int64_t secs;

    (void)dc;
    while (*(w = ap_getword_conf(cmd->temp_pool, &args))) {
        if (strncasecmp(w, "handshake=", 10) != 0) {
            continue;
        }
        v = w + 10;
        secs = apr_atoi64(v);                      /* "N[-M][,MinRate=R]" */
        if ((v = strpbrk(v, "-,")) != NULL && *v == '-') {
            secs = apr_atoi64(v + 1);
        }
        sslcodes_srv(cmd->server)->handshake_timeout =
            secs > 0 ? apr_time_from_sec(secs) : 0;
    }
    return DECLINE_CMD;
}

static const char *sslcodes_note_crl_check(cmd_parms *cmd, void *dc,
                                           const char *args)
{
    const char *w;

    (void)dc;
    sslcodes_note_trust(cmd, dc, args);
    sslcodes_srv(cmd->server)->crl_optional = 0;
    while (*(w = ap_getword_conf(cmd->temp_pool, &args))) {
        if (strcasecmp(w, "no_crl_for_cert_ok") == 0) {
            sslcodes_srv(cmd->server)->crl_optional = 1;
        }
    }
    return DECLINE_CMD;
}

/*
 * mod_ssl's OCSP directives, read the same way: mod_ssl checks OCSP only
 * under its own SSLVerifyClient, so for certificates that this module
 * checks, it applies them itself (sslcodes_ocsp.c).  The values are read
 * as mod_ssl reads them (atoi where it uses atoi); a value mod_ssl refuses
 * stops startup there.
 */
static const char *sslcodes_note_ocsp_enable(cmd_parms *cmd, void *dc,
                                             const char *args)
{
    /* In the order of sslcodes_ocsp_e. */
    static const char *const names[] = { "off", "leaf", "on", NULL };
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);
    const char *w = ap_getword_conf(cmd->temp_pool, &args);
    int i = sslcodes_keyword(w, names);

    (void)dc;
    if (i >= 0) {
        sc->ocsp = i;
        sc->ocsp_no_url_ok = 0;
        while (*(w = ap_getword_conf(cmd->temp_pool, &args))) {
            if (strcasecmp(w, "no_ocsp_for_cert_ok") == 0) {
                sc->ocsp_no_url_ok = 1;
            }
        }
    }
    return DECLINE_CMD;
}

static const char *sslcodes_note_ocsp_url(cmd_parms *cmd, void *dc,
                                          const char *arg)
{
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);

    (void)dc;
    if (strcmp(cmd->cmd->name, "SSLOCSPProxyURL") == 0) {
        sc->ocsp_proxy = arg;
    }
    else {
        sc->ocsp_responder = arg;
    }
    return DECLINE_CMD;
}

static const char *sslcodes_note_ocsp_flag(cmd_parms *cmd, void *dc, int on)
{
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);

    (void)dc;
    if (strcmp(cmd->cmd->name, "SSLOCSPOverrideResponder") == 0) {
        sc->ocsp_override = on;
    }
    else if (strcmp(cmd->cmd->name, "SSLOCSPUseRequestNonce") == 0) {
        sc->ocsp_nonce = on;
    }
    else {
        sc->ocsp_noverify = on;
    }
    return DECLINE_CMD;
}

static const char *sslcodes_note_ocsp_seconds(cmd_parms *cmd, void *dc,
                                              const char *arg)
{
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);
    int n = atoi(arg);

    (void)dc;
    if (n >= 0) {
        if (strcmp(cmd->cmd->name, "SSLOCSPResponderTimeout") == 0) {
            sc->ocsp_timeout = apr_time_from_sec(n);
        }
        else if (strcmp(cmd->cmd->name, "SSLOCSPResponseTimeSkew") == 0) {
            sc->ocsp_skew = n;
        }
        else {
            sc->ocsp_maxage = n;
        }
    }
    return DECLINE_CMD;
}

static const char *sslcodes_note_ocsp_certs(cmd_parms *cmd, void *dc,
                                            const char *arg)
{
    (void)dc;
    sslcodes_srv(cmd->server)->ocsp_certs_file =
        ap_server_root_relative(cmd->pool, arg);
    return DECLINE_CMD;
}

static const char *sslcodes_set_ocsp_cache(cmd_parms *cmd, void *dc,
                                           const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dc;
    if (err) {
        return err;
    }
    return sslcodes_ocsp_cache_config(cmd, arg,
                                      &sslcodes_srv(cmd->server)->ocsp_cache);
}

#define SSLCODES_MAX_WORDS 16

static const char *sslcodes_set_error_document(cmd_parms *cmd, void *dc,
                                               const char *args)
{
    const char *argv[SSLCODES_MAX_WORDS];
    int quoted[SSLCODES_MAX_WORDS];
    int argc = 0, bad, i;
    sslcodes_action *act;
    const char *err;
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);

    (void)dc;
    /* Split as core does, but remember which words were quoted: "https"
     * in quotes is text, not the keyword. */
    while (*(args += strspn(args, " \t")) != '\0') {
        if (argc == SSLCODES_MAX_WORDS) {
            return apr_psprintf(cmd->pool, "%s: too many arguments",
                                cmd->cmd->name);
        }
        quoted[argc] = (*args == '"' || *args == '\'');
        argv[argc++] = ap_getword_conf(cmd->pool, &args);
    }

    act = apr_pcalloc(cmd->pool, sizeof(*act));
    err = sslcodes_action_parse(argc, argv, quoted, &act->spec, &bad);
    if (!err && act->spec.status) {
        err = sslcodes_check_status(act->spec.status);
        bad = err ? argc - 2 : -1;
    }
    if (err) {
        return bad < 0
            ? apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err)
            : apr_psprintf(cmd->pool, "%s: '%s': %s", cmd->cmd->name,
                           argv[bad], err);
    }
    if (act->spec.is_expr) {
        act->expr = ap_expr_parse_cmd(cmd, act->spec.arg,
                                      AP_EXPR_FLAG_STRING_RESULT, &err, NULL);
        if (err) {
            return apr_psprintf(cmd->pool, "%s: cannot parse expression "
                                "'%s': %s", cmd->cmd->name, act->spec.arg,
                                err);
        }
    }
    for (i = 0; i < SSLCODES_NCODES; i++) {
        if (act->spec.codes & (1u << i)) {
            sc->action[i] = act;
        }
    }
    return NULL;
}

static const command_rec sslcodes_cmds[] = {
    AP_INIT_FLAG("SSLCodes", sslcodes_set_enabled, NULL, RSRC_CONF,
                 "On or Off: answer plain HTTP on this TLS virtual host with "
                 "497 (default Off)"),
    AP_INIT_TAKE1("SSLCodesVerifyClient", sslcodes_set_verify, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                  "off, on, optional or optional_no_ca: ask for a client "
                  "certificate and answer failures with 496 or 495 "
                  "(default off)"),
    AP_INIT_TAKE1("SSLCodesOCSPCache", sslcodes_set_ocsp_cache, NULL,
                  RSRC_CONF,
                  "none, or a socache TYPE[:ARGS] (e.g. "
                  "shmcb:/path(512000)) shared by the server's processes "
                  "for OCSP answers about client certificates "
                  "(default none)"),
    AP_INIT_RAW_ARGS("SSLCodesErrorDocument", sslcodes_set_error_document,
                     NULL, RSRC_CONF,
                     "CODE... [=STATUS] ACTION: codes 494 to 497; ACTION is "
                     "a local URL, an external URL, \"text\", default, "
                     "close (send nothing), or https (497 only)"),
    AP_INIT_TAKE1("SSLCodesWireStatus", sslcodes_set_wire, NULL, RSRC_CONF,
                  "native or nginx: send 49x itself, or 400 Bad Request as "
                  "nginx does (default native)"),
    AP_INIT_TAKE1("SSLCodesPeekTimeout", sslcodes_set_peek_timeout, NULL,
                  RSRC_CONF,
                  "Seconds (or e.g. 500ms) to wait for a new connection's "
                  "first bytes (default: the Timeout of the virtual host)"),
    AP_INIT_FLAG("SSLCodesHeaderTooLarge", sslcodes_set_header_too_large,
                 NULL, RSRC_CONF,
                 "On or Off: answer a header field over LimitRequestFieldSize, "
                 "or more than LimitRequestFields, with 494 (default Off)"),
    AP_INIT_FLAG("SSLCodesClientClosed", sslcodes_set_client_closed, NULL,
                 RSRC_CONF,
                 "On or Off: log 499 and send nothing when the client closed "
                 "before the response (default Off)"),
    /* Not the module's own: see sslcodes_note_verify_depth() and
     * sslcodes_note_trust(). */
    AP_INIT_TAKE1("SSLVerifyDepth", sslcodes_note_verify_depth,
                  (void *)SSLCODES_TRUST_DEPTH, RSRC_CONF | OR_AUTHCFG,
                  "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_RAW_ARGS("SSLCARevocationCheck", sslcodes_note_crl_check,
                     (void *)SSLCODES_TRUST_CRL_CHECK, RSRC_CONF,
                     "mod_ssl's directive; mod_sslcodes reads its flags"),
    AP_INIT_RAW_ARGS("SSLCACertificateFile", sslcodes_note_trust,
                     (void *)0, RSRC_CONF | OR_AUTHCFG,
                     "mod_ssl's directive; mod_sslcodes compares it"),
    AP_INIT_RAW_ARGS("SSLCACertificatePath", sslcodes_note_trust,
                     (void *)1, RSRC_CONF | OR_AUTHCFG,
                     "mod_ssl's directive; mod_sslcodes compares it"),
    AP_INIT_RAW_ARGS("SSLCARevocationFile", sslcodes_note_trust,
                     (void *)2, RSRC_CONF,
                     "mod_ssl's directive; mod_sslcodes compares it"),
    AP_INIT_RAW_ARGS("SSLCARevocationPath", sslcodes_note_trust,
                     (void *)3, RSRC_CONF,
                     "mod_ssl's directive; mod_sslcodes compares it"),
    AP_INIT_RAW_ARGS("SSLVerifyClient", sslcodes_note_trust,
                     (void *)SSLCODES_TRUST_MODSSL_VERIFY,
                     RSRC_CONF | OR_AUTHCFG,
                     "mod_ssl's directive; mod_sslcodes compares it"),
    AP_INIT_RAW_ARGS("SSLOpenSSLConfCmd", sslcodes_note_trust,
                     (void *)SSLCODES_TRUST_CONF_CMD, RSRC_CONF,
                     "mod_ssl's directive; mod_sslcodes compares it"),
    AP_INIT_RAW_ARGS("RequestReadTimeout", sslcodes_note_reqtimeout, NULL,
                     RSRC_CONF,
                     "mod_reqtimeout's directive; mod_sslcodes reads its "
                     "handshake= stage"),
    /* Not the module's own either: see sslcodes_note_ocsp_enable(). */
    AP_INIT_RAW_ARGS("SSLOCSPEnable", sslcodes_note_ocsp_enable, NULL,
                     RSRC_CONF,
                     "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_TAKE1("SSLOCSPDefaultResponder", sslcodes_note_ocsp_url, NULL,
                  RSRC_CONF,
                  "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_TAKE1("SSLOCSPProxyURL", sslcodes_note_ocsp_url, NULL,
                  RSRC_CONF,
                  "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_FLAG("SSLOCSPOverrideResponder", sslcodes_note_ocsp_flag, NULL,
                 RSRC_CONF,
                 "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_FLAG("SSLOCSPUseRequestNonce", sslcodes_note_ocsp_flag, NULL,
                 RSRC_CONF,
                 "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_FLAG("SSLOCSPNoVerify", sslcodes_note_ocsp_flag, NULL,
                 RSRC_CONF,
                 "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_TAKE1("SSLOCSPResponderTimeout", sslcodes_note_ocsp_seconds,
                  NULL, RSRC_CONF,
                  "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_TAKE1("SSLOCSPResponseTimeSkew", sslcodes_note_ocsp_seconds,
                  NULL, RSRC_CONF,
                  "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_TAKE1("SSLOCSPResponseMaxAge", sslcodes_note_ocsp_seconds,
                  NULL, RSRC_CONF,
                  "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_TAKE1("SSLOCSPResponderCertificateFile",
                  sslcodes_note_ocsp_certs, NULL, RSRC_CONF,
                  "mod_ssl's directive; mod_sslcodes reads its value"),
    { NULL }
};

/* --- Startup ------------------------------------------------------------- */

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

/* mod_ssl runs this for every server it sets up for TLS, including one
 * enabled only by "Listen ... https" with a certificate.  OCSP is set up
 * first: it needs to see mod_ssl's own verify mode before the wrapper
 * replaces it. */
static int sslcodes_init_server(server_rec *s, apr_pool_t *p, int is_proxy,
                                SSL_CTX *ctx)
{
    sslcodes_srv_conf *sc = sslcodes_srv(s);

    if (is_proxy) {
        return OK;
    }
    sc->is_tls = 1;
    sslcodes_verify_note_ctx(s, ctx);
    sslcodes_session_init_server(s, ctx);
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

static int sslcodes_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return sslcodes_ocsp_cache_pre_config(pconf);
}

/* Before mod_ssl's post_config, whose init_server hook reads the values. */
static int sslcodes_post_config_defaults(apr_pool_t *pconf, apr_pool_t *plog,
                                         apr_pool_t *ptemp,
                                         server_rec *main_s)
{
    server_rec *s;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    for (s = main_s; s; s = s->next) {
        sslcodes_resolve_defaults(s, sslcodes_srv(s));
    }
    sslcodes_session_pre_ssl(main_s);
    return OK;
}

static int sslcodes_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *main_s)
{
    (void)plog;
    (void)ptemp;
    sslcodes_derive(main_s);
    if (sslcodes_check_load_order(main_s) != OK
        || sslcodes_ocsp_post_config(pconf, main_s) != OK) {
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

static void sslcodes_child_init(apr_pool_t *p, server_rec *s)
{
    sslcodes_ocsp_cache_child_init(p, s);
}

/* --- Hook wiring --------------------------------------------------------- */

static void sslcodes_register_hooks(apr_pool_t *p)
{
    /* The TLS servers are known only once mod_ssl's post_config has run
     * its init_server hook for each of them. */
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };

    /* The first bytes must be looked at before mod_ssl starts a handshake
     * on them: once it has, a plain request is already lost. */
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };

    /* Answer before any module maps the URL (Redirect, RewriteRule,
     * ProxyPass): a 49x request is never served.  mod_remoteip goes first
     * so that the log names the client, not the load balancer.  httpd runs
     * this hook for an error document's internal redirect as well. */
    static const char *const after_remoteip[] = { "mod_remoteip.c", NULL };

    (void)p;
    sslcodes_conn_register();
    ap_hook_pre_config(sslcodes_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(sslcodes_post_config_defaults, NULL, before_ssl,
                        APR_HOOK_MIDDLE);
    ap_hook_post_config(sslcodes_post_config, after_ssl, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_child_init(sslcodes_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, init_server, sslcodes_init_server, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, sslcodes_pre_handshake, NULL, NULL,
                      APR_HOOK_MIDDLE);

    ap_hook_pre_connection(sslcodes_pre_connection, NULL, before_ssl,
                           APR_HOOK_MIDDLE);
    ap_hook_post_read_request(sslcodes_post_read_request, after_remoteip,
                              before_ssl, APR_HOOK_REALLY_FIRST);

    /* SSLCodesVerifyClient in a location decides right after the last
     * location walk: the URL is mapped, and no authentication,
     * authorization, handler, proxy or CGI has run.  httpd runs this hook
     * for every request, subrequests and internal redirects included.
     * The access hooks would not do: "Satisfy Any" lets a user who logs
     * in skip them, and httpd skips them when a parent request with the
     * same configuration passed. */
    ap_hook_post_perdir_config(sslcodes_perdir_check, NULL, NULL,
                               APR_HOOK_REALLY_FIRST);

    /* mod_ssl's access hook resets a TLS 1.2 connection's verify result
     * on every request; a failed one is written back right after it. */
    ap_hook_check_access(sslcodes_verify_access, after_ssl, NULL,
                         APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);

    /* %{SSL_CLIENT_VERIFY} and %{SSL:...} are answered here, before
     * mod_ssl, which would read the verify result as it stands. */
    ap_hook_expr_lookup(sslcodes_verify_expr_lookup, NULL, before_ssl,
                        APR_HOOK_MIDDLE);
    ap_hook_expr_lookup(sslcodes_expr_lookup, NULL, NULL, APR_HOOK_MIDDLE);

    /* Before mod_log_config writes %>s: see sslcodes_log_transaction(). */
    ap_hook_log_transaction(sslcodes_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
    APR_REGISTER_OPTIONAL_FN(sslcodes_conn_status);

    /* 494, 444 and 499 (see sslcodes_limits.c). */
    sslcodes_limits_register();

    /* A subrequest's refusal passed on by its parent (sslcodes_perdir.c);
     * registered after sslcodes_limits.c's error hook. */
    sslcodes_perdir_register();

    /* mod_status's optional hook, and the counters' reset on a full
     * restart (see sslcodes_status.c). */
    sslcodes_status_register();
}

AP_DECLARE_MODULE(sslcodes) = {
    STANDARD20_MODULE_STUFF,
    sslcodes_create_dir,        /* create per-directory config */
    sslcodes_merge_dir,         /* merge per-directory config  */
    sslcodes_create_srv,        /* create per-server config    */
    sslcodes_merge_srv,         /* merge per-server config     */
    sslcodes_cmds,              /* directives                  */
    sslcodes_register_hooks,    /* hooks                       */
    /* Every virtual host gets a config of its own, even one without any
     * SSLCodes* line: what mod_ssl reports per server must not land in a
     * config that the main server shares with its vhosts. */
    AP_MODULE_FLAG_ALWAYS_MERGE
};
