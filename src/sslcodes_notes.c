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
 * sslcodes_notes.c: other modules' directives, read as they go by.  Every
 * directive here belongs to mod_ssl or mod_reqtimeout: the module notes
 * what it needs of it in its own server config and declines it, and httpd
 * then gives it to its owner, which checks it.  This needs the module to
 * be loaded after its owners (sslcodes_check_lines()).
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_strings.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

/*
 * Where the owner is not loaded, httpd would take the decline for success
 * and the line would do nothing: it is refused as httpd refuses any
 * directive that no loaded module defines.
 */
static const char *sslcodes_pass_on(cmd_parms *cmd, const char *owner)
{
    if (ap_find_linked_module(owner)) {
        return DECLINE_CMD;
    }
    /* .htaccess under "AllowOverride ... Nonfatal=Unknown": a warning. */
    if (cmd->override & NONFATAL_UNKNOWN) {
        ap_log_perror(APLOG_MARK, APLOG_WARNING, 0, cmd->temp_pool,
                      "Unknown directive %s perhaps misspelled or defined by "
                      "a module not included in the server configuration",
                      cmd->cmd->name);
        return NULL;
    }
    return apr_psprintf(cmd->pool, "Invalid command '%s', perhaps "
                        "misspelled or defined by a module not included "
                        "in the server configuration", cmd->cmd->name);
}

/* mod_ssl's client-CA lines, SSLCACertificateFile, SSLCACertificatePath,
 * SSLCARevocationFile, SSLCARevocationPath, SSLVerifyDepth,
 * SSLCARevocationCheck, its own SSLVerifyClient, and SSLOpenSSLConfCmd
 * (which can set the CAs too), kept as written: two vhosts with the same
 * lines trust the same client certificates.  cmd->info is the slot. */
const char *sslcodes_note_trust(cmd_parms *cmd, void *dc, const char *args)
{
    int i = (int)(apr_uintptr_t)cmd->info;
    const char **slot = &sslcodes_srv(cmd->server)->trust[i];

    (void)dc;
    if (cmd->path) {
        return sslcodes_pass_on(cmd, "mod_ssl.c");
    }
    /* SSLOpenSSLConfCmd may come many times; every line counts. */
    if (i == SSLCODES_TRUST_CONF_CMD && *slot) {
        *slot = apr_pstrcat(cmd->pool, *slot, "\n", args, NULL);
    }
    else {
        *slot = apr_pstrdup(cmd->pool, args);
    }
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

/*
 * mod_ssl applies SSLVerifyDepth and "SSLCARevocationCheck ...
 * no_crl_for_cert_ok" in its verify callback, only under its own
 * SSLVerifyClient, and keeps the values to itself.  The module reads the
 * server-level values as they go by and declines them, so mod_ssl still
 * gets and checks them.  This needs the module to be loaded after mod_ssl
 * (see sslcodes_check_load_order()).
 */
const char *sslcodes_note_verify_depth(cmd_parms *cmd, void *dc,
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
const char *sslcodes_note_reqtimeout(cmd_parms *cmd, void *dc,
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
    return sslcodes_pass_on(cmd, "mod_reqtimeout.c");
}

const char *sslcodes_note_crl_check(cmd_parms *cmd, void *dc, const char *args)
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
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

/*
 * mod_ssl's OCSP directives, read the same way: mod_ssl checks OCSP only
 * under its own SSLVerifyClient, so for certificates that this module
 * checks, it applies them itself (sslcodes_ocsp.c).  The values are read
 * as mod_ssl reads them (atoi where it uses atoi); a value mod_ssl refuses
 * stops startup there.
 */
const char *sslcodes_note_ocsp_enable(cmd_parms *cmd, void *dc,
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
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

/* mod_ssl's SSLEngine and SSLCertificateFile, read as they go by and
 * declined: whether mod_ssl will set a server up for TLS, which configtest
 * needs to know before mod_ssl has (see sslcodes_check_config()).  mod_ssl
 * merges both into virtual hosts as the module does. */
const char *sslcodes_note_ssl_engine(cmd_parms *cmd, void *dc,
                                     const char *args)
{
    const char *w = ap_getword_conf(cmd->temp_pool, &args);
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);

    (void)dc;
    if (strcasecmp(w, "on") == 0 || strcasecmp(w, "optional") == 0) {
        sc->ssl_engine = SSLCODES_ENGINE_ON;
    }
    else if (strcasecmp(w, "off") == 0) {
        sc->ssl_engine = SSLCODES_ENGINE_OFF;
    }
    else {
        sc->ssl_engine = SSLCODES_ENGINE_OTHER;
    }
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

const char *sslcodes_note_ssl_cert(cmd_parms *cmd, void *dc,
                                   const char *args)
{
    (void)dc;
    (void)args;
    sslcodes_srv(cmd->server)->ssl_cert = 1;
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

const char *sslcodes_note_ocsp_url(cmd_parms *cmd, void *dc, const char *arg)
{
    sslcodes_srv_conf *sc = sslcodes_srv(cmd->server);

    (void)dc;
    if (strcmp(cmd->cmd->name, "SSLOCSPProxyURL") == 0) {
        sc->ocsp_proxy = arg;
    }
    else {
        sc->ocsp_responder = arg;
    }
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

const char *sslcodes_note_ocsp_flag(cmd_parms *cmd, void *dc, int on)
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
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

const char *sslcodes_note_ocsp_seconds(cmd_parms *cmd, void *dc,
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
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}

const char *sslcodes_note_ocsp_certs(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    sslcodes_srv(cmd->server)->ocsp_certs_file =
        ap_server_root_relative(cmd->pool, arg);
    return sslcodes_pass_on(cmd, "mod_ssl.c");
}
