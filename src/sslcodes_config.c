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
 * sslcodes_config.c: the module's directives, and its per-server and
 * per-directory configs (create, merge, and the one place defaults are
 * resolved).  The directives of mod_ssl and mod_reqtimeout that it reads
 * as they go by are sslcodes_notes.c's.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_expr.h"

#include "apr_strings.h"

#include "sslcodes_private.h"

/* --- Configuration ------------------------------------------------------- */

void *sslcodes_create_srv(apr_pool_t *p, server_rec *s)
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
    sc->ssl_engine = SSLCODES_UNSET;
    sc->ssl_cert = SSLCODES_UNSET;
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

void *sslcodes_merge_srv(apr_pool_t *p, void *basev, void *addv)
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
    SSLCODES_MERGE(ssl_engine);
    SSLCODES_MERGE(ssl_cert);
    /* Error documents are inherited code by code. */
    for (i = 0; i < SSLCODES_NCODES; i++) {
        m->action[i] = add->action[i] ? add->action[i] : base->action[i];
    }
    for (i = 0; i < SSLCODES_NTRUST; i++) {
        m->trust[i] = add->trust[i] ? add->trust[i] : base->trust[i];
    }
    return m;
}

/* An unset field takes its default. */
#define SSLCODES_DEFAULT(f, v) \
    do { if (sc->f == SSLCODES_UNSET) { sc->f = (v); } } while (0)

/* mod_ssl's defaults for its OCSP settings (ssl_private.h and
 * ssl_engine_ocsp.c): 10 s to answer, 5 minutes of clock skew, any age
 * up to nextUpdate, and a nonce. */
static void sslcodes_resolve_ocsp_defaults(sslcodes_srv_conf *sc)
{
    SSLCODES_DEFAULT(ocsp, SSLCODES_OCSP_OFF);
    SSLCODES_DEFAULT(ocsp_no_url_ok, 0);
    SSLCODES_DEFAULT(ocsp_override, 0);
    SSLCODES_DEFAULT(ocsp_timeout, apr_time_from_sec(10));
    SSLCODES_DEFAULT(ocsp_skew, 300);
    /* ocsp_maxage: UNSET (-1) is mod_ssl's "any age". */
    SSLCODES_DEFAULT(ocsp_nonce, 1);
    SSLCODES_DEFAULT(ocsp_noverify, 0);
}

/* The one place where unset values become defaults.  Runs after merging
 * (sslcodes_check_config()), so every server_rec holds final values from
 * there on. */
void sslcodes_resolve_defaults(server_rec *s, sslcodes_srv_conf *sc)
{
    SSLCODES_DEFAULT(enabled, 0);
    SSLCODES_DEFAULT(verify, SSLCODES_VERIFY_OFF);
    SSLCODES_DEFAULT(wire, SSLCODES_WIRE_NATIVE);
    SSLCODES_DEFAULT(handshake_timeout, 0);
    /* The one bound on a new connection's wait for its request line (or
     * TLS handshake): what stock httpd gives a TLS handshake, which is
     * RequestReadTimeout's handshake= stage when set, else Timeout. */
    SSLCODES_DEFAULT(peek_timeout, sc->handshake_timeout > 0
                                   ? sc->handshake_timeout : s->timeout);
    SSLCODES_DEFAULT(verify_depth, 1);       /* mod_ssl's default */
    SSLCODES_DEFAULT(crl_optional, 0);
    SSLCODES_DEFAULT(header_too_large, 0);
    SSLCODES_DEFAULT(dir_verify, 0);
    sslcodes_resolve_ocsp_defaults(sc);
}

void *sslcodes_create_dir(apr_pool_t *p, char *path)
{
    sslcodes_dir_conf *dc = apr_pcalloc(p, sizeof(*dc));

    (void)path;
    dc->verify = SSLCODES_UNSET;
    dc->client_closed = SSLCODES_UNSET;
    return dc;
}

void *sslcodes_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const sslcodes_dir_conf *base = basev, *add = addv;
    sslcodes_dir_conf *m = apr_pcalloc(p, sizeof(*m));

    SSLCODES_MERGE(verify);
    SSLCODES_MERGE(client_closed);
    return m;
}

/* --- Directives ---------------------------------------------------------- */

const char *sslcodes_set_enabled(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    sslcodes_srv(cmd->server)->enabled = on;
    return NULL;
}

const char *sslcodes_set_header_too_large(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    sslcodes_srv(cmd->server)->header_too_large = on;
    return NULL;
}

/* Index of ARG in the NULL-terminated NAMES, ignoring case; -1 if absent. */
int sslcodes_keyword(const char *arg, const char *const *names)
{
    int i;

    for (i = 0; names[i]; i++) {
        if (strcasecmp(arg, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* In the server's sections as well as at its top: DC is the section's
 * config, or the server's default one. */
const char *sslcodes_set_client_closed(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    static const char *const names[] = { "off", "on", "log", NULL };
    int i = sslcodes_keyword(arg, names);

    if (i < 0) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " \"", arg,
                           "\": must be off, on (499, and the backend is "
                           "aborted) or log (499; the backend finishes)",
                           NULL);
    }
    ((sslcodes_dir_conf *)dc)->client_closed = i;
    if (i == SSLCODES_CLOSED_ABORT) {
        sslcodes_watch_in_use();
    }
    return NULL;
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

const char *sslcodes_set_verify(cmd_parms *cmd, void *dc, const char *arg)
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

const char *sslcodes_set_wire(cmd_parms *cmd, void *dc, const char *arg)
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

const char *sslcodes_set_peek_timeout(cmd_parms *cmd, void *dc,
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

const char *sslcodes_set_ocsp_cache(cmd_parms *cmd, void *dc, const char *arg)
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

const char *sslcodes_set_error_document(cmd_parms *cmd, void *dc,
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
