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
 * mod_sslcodes: nginx's special status codes for httpd with mod_ssl.
 *
 *   497  plain HTTP sent to a TLS port: read the real request and answer it
 *   496  a client certificate was required and none was sent
 *   495  the client certificate failed verification
 *   494  request headers too large
 *   444  close without an answer
 *   499  the client left before the answer
 *
 * This file is the module's face: the module record, the directives and
 * the hook wiring, with the reason for each hook's place.  The work is in
 * src/, one role a file; sslcodes_private.h draws how a request goes
 * through them, and docs/ARCHITECTURE.md lists them.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_expr.h"

#include "mod_proxy.h"
#include "mod_ssl.h"

#include "sslcodes_private.h"

/* mod_ssl's optional hooks, from mod_ssl_openssl.h where httpd installed it
 * (Debian: apache2-ssl-dev); else declared here with the same signatures
 * as httpd 2.4's header. */
#if defined(__has_include)
#if __has_include("mod_ssl_openssl.h")
#define SSLCODES_HAVE_MOD_SSL_OPENSSL_H 1
#endif
#endif
#ifdef SSLCODES_HAVE_MOD_SSL_OPENSSL_H
#include "mod_ssl_openssl.h"
#else
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, init_server,
                          (server_rec *s, apr_pool_t *p, int is_proxy,
                           SSL_CTX *ctx))
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, pre_handshake,
                          (conn_rec *c, SSL *ssl, int is_proxy))
#endif

/* --- Directives (sslcodes_config.c) -------------------------------------- */

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
                  "Seconds (or e.g. 500ms) a new connection may take to "
                  "send its request line or finish its TLS handshake "
                  "(default: RequestReadTimeout's handshake= maximum when "
                  "set, else the virtual host's Timeout)"),
    AP_INIT_FLAG("SSLCodesHeaderTooLarge", sslcodes_set_header_too_large,
                 NULL, RSRC_CONF,
                 "On or Off: answer a header field over LimitRequestFieldSize, "
                 "or more than LimitRequestFields, with 494 (default Off)"),
    AP_INIT_TAKE1("SSLCodesClientClosed", sslcodes_set_client_closed, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "off, on or log: a client that leaves before the answer "
                  "gets nothing and the log says 499; on also aborts the "
                  "proxied or CGI backend it waits on at once, as nginx "
                  "does; log lets the backend finish, as nginx's "
                  "proxy_ignore_client_abort on (default off)"),
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
    AP_INIT_RAW_ARGS("SSLEngine", sslcodes_note_ssl_engine, NULL,
                     RSRC_CONF,
                     "mod_ssl's directive; mod_sslcodes reads its value"),
    AP_INIT_RAW_ARGS("SSLCertificateFile", sslcodes_note_ssl_cert, NULL,
                     RSRC_CONF,
                     "mod_ssl's directive; mod_sslcodes notes it"),
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


/* --- Hook wiring --------------------------------------------------------- */

/* The TLS servers are known only once mod_ssl's post_config has run its
 * init_server hook for each of them. */
static const char *const sslcodes_after_ssl[] = { "mod_ssl.c", NULL };

/* The first bytes must be looked at before mod_ssl starts a handshake on
 * them: once it has, a plain request is already lost.  The session guard
 * must be set before mod_ssl's post_config runs init_server. */
static const char *const sslcodes_before_ssl[] = { "mod_ssl.c", NULL };

/* Answer before any module maps the URL (Redirect, RewriteRule,
 * ProxyPass): a 49x request is never served.  mod_remoteip goes first so
 * that the log names the client, not the load balancer. */
static const char *const sslcodes_after_remoteip[] = { "mod_remoteip.c",
                                                       NULL };

static void sslcodes_register_startup(void)
{
    ap_hook_pre_config(sslcodes_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(sslcodes_post_config_before_ssl, NULL,
                        sslcodes_before_ssl, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, init_server, sslcodes_init_server, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_post_config(sslcodes_post_config, sslcodes_after_ssl, NULL,
                        APR_HOOK_MIDDLE);
    /* Also for "apachectl configtest", which runs no post_config: the
     * checks that need no SSL_CTX run here. */
    ap_hook_check_config(sslcodes_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(sslcodes_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* mod_status's optional hook, and the counters' reset on a full
     * restart (see sslcodes_status.c). */
    sslcodes_status_register();
}

static void sslcodes_register_connection(void)
{
    ap_hook_pre_connection(sslcodes_pre_connection, NULL,
                           sslcodes_before_ssl, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, sslcodes_pre_handshake, NULL, NULL,
                      APR_HOOK_MIDDLE);
    APR_REGISTER_OPTIONAL_FN(sslcodes_conn_status);
}

static void sslcodes_register_request(void)
{
    /* Every request read from the wire: the first-bytes filter leaves a
     * TLS connection's chain, and 494 starts noting header lines. */
    ap_hook_create_request(sslcodes_create_request, NULL, NULL,
                           APR_HOOK_MIDDLE);
    /* Before any other module looks at the request's vhost: see
     * sslcodes_limits_note_lines(). */
    ap_hook_post_read_request(sslcodes_limits_read, NULL, NULL,
                              APR_HOOK_REALLY_FIRST - 10);
    /* httpd runs this hook for an error document's internal redirect as
     * well, which carries the answer over. */
    ap_hook_post_read_request(sslcodes_post_read_request,
                              sslcodes_after_remoteip, sslcodes_before_ssl,
                              APR_HOOK_REALLY_FIRST);

    /* SSLCodesVerifyClient in a location decides right after the last
     * location walk: the URL is mapped, and no authentication,
     * authorization, handler, proxy or CGI has run.  httpd runs this hook
     * for every request, subrequests and internal redirects included.
     * The access hooks would not do: "Satisfy Any" lets a user who logs
     * in skip them, and httpd skips them when a parent request with the
     * same configuration passed. */
    ap_hook_post_perdir_config(sslcodes_post_perdir_config, NULL, NULL,
                               APR_HOOK_REALLY_FIRST);

    /* mod_ssl's access hook resets a TLS 1.2 connection's verify result
     * on every request; a failed one is written back right after it. */
    ap_hook_check_access(sslcodes_verify_access, sslcodes_after_ssl, NULL,
                         APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);

    /* %{SSL_CLIENT_VERIFY} and %{SSL:...} are answered here, before
     * mod_ssl, which would read the verify result as it stands. */
    ap_hook_expr_lookup(sslcodes_verify_expr_lookup, NULL,
                        sslcodes_before_ssl, APR_HOOK_MIDDLE);
    ap_hook_expr_lookup(sslcodes_expr_lookup, NULL, NULL, APR_HOOK_MIDDLE);

    /* First: a verdict found there is answered by a nested ap_die(), which
     * runs every module's insert_error_filter hook for the answer; had
     * they run before this one as well, their filters would be added
     * twice. */
    ap_hook_insert_error_filter(sslcodes_insert_error_filter, NULL, NULL,
                                APR_HOOK_FIRST);
    /* Right before the handler, after every fixup that can make a fast
     * internal redirect: mod_cache's save filter reads r->no_cache once
     * the response starts. */
    ap_hook_insert_filter(sslcodes_insert_filter, NULL, NULL,
                          APR_HOOK_REALLY_LAST);

    /* mod_proxy_http's and mod_proxy_uwsgi's backend connection, for the
     * 499 watch (sslcodes_watch.c).  mod_proxy may not be loaded. */
    APR_OPTIONAL_HOOK(proxy, create_req, sslcodes_watch_backend, NULL, NULL,
                      APR_HOOK_MIDDLE);

    /* Before mod_log_config writes %>s: see sslcodes_log_transaction(). */
    ap_hook_log_transaction(sslcodes_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
}

static void sslcodes_register_hooks(apr_pool_t *p)
{
    (void)p;
    sslcodes_conn_register();
    sslcodes_limits_register();
    sslcodes_register_startup();
    sslcodes_register_connection();
    sslcodes_register_request();
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
