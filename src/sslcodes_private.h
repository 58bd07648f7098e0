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
 * sslcodes_private.h: internals shared by the module's source files.
 *
 * How a request goes through the module (docs/ARCHITECTURE.md has more):
 *
 *   connection      sslcodes_conn.c     first bytes: TLS, plain, PROXY
 *                   sslcodes_verify.c   client certificate, in the handshake
 *                        |                (sslcodes_ocsp.c asks responders)
 *                        v
 *   request         sslcodes_request.c  the hooks; sslcodes_decide() asks
 *                        |              each part once, in its phase:
 *                        |                conn.c    plain on TLS, PROXY
 *                        |                verify.c  the certificate
 *                        |                perdir.c  the location's mode
 *                        |                limits.c  the header limits
 *                        v
 *                   sslcodes_verdict    code, reason, vhost, no_cache
 *                        |
 *                        v
 *   answer          sslcodes_response.c page, error document, https,
 *                                       close; calls no part back
 *
 *   then            sslcodes_limits.c   444 and 499 at the first byte out
 *                   sslcodes_watch.c    499 while a backend is awaited
 *                   sslcodes_status.c   counters; the log reads the verdict
 *
 * Below them all: sslcodes_socket.c (waiting on sockets) and the parsers
 * of untrusted bytes (sslcodes_parse_*.c, no httpd types).  Startup is
 * sslcodes_config.c (directives), sslcodes_notes.c (mod_ssl's and
 * mod_reqtimeout's directives, read as they go by), sslcodes_checks.c
 * (what stops startup, and configtest) and sslcodes_init.c (the rest).
 */

#ifndef SSLCODES_PRIVATE_H
#define SSLCODES_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mmn.h"
#include "ap_expr.h"
#include "util_filter.h"
#include "apr_optional_hooks.h"
#include "ap_socache.h"

#include <openssl/ssl.h>
#ifndef OPENSSL_NO_OCSP
#include <openssl/ocsp.h>
#endif

#include "mod_sslcodes.h"
#include "sslcodes_parse.h"

/* ap_ssl_bind_outgoing() and conn_rec->outgoing (httpd 2.4.49) are how a
 * connection is taken away from mod_ssl before its handshake. */
#if !AP_MODULE_MAGIC_AT_LEAST(20120211, 116)
#error "mod_sslcodes needs httpd 2.4.49 or later"
#endif

extern module AP_MODULE_DECLARE_DATA sslcodes_module;

/* Every error-log line carries a tag of its own; the README lists them. */
#define SSLCODES_LOGNO(n) "SSLCODES" #n ": "

#define SSLCODES_UNSET (-1)

typedef enum {
    SSLCODES_VERIFY_OFF = 0,
    SSLCODES_VERIFY_ON,
    SSLCODES_VERIFY_OPTIONAL,
    SSLCODES_VERIFY_OPTIONAL_NO_CA
} sslcodes_verify_e;

typedef enum {
    SSLCODES_WIRE_NATIVE = 0,
    SSLCODES_WIRE_NGINX
} sslcodes_wire_e;

/* The mod_ssl directives that decide which client certificates a virtual
 * host trusts; two vhosts with the same lines trust the same ones. */
#define SSLCODES_NTRUST 8
/* Slots 0 to 3 are SSLCACertificateFile, SSLCACertificatePath,
 * SSLCARevocationFile and SSLCARevocationPath. */
#define SSLCODES_TRUST_DEPTH 4
#define SSLCODES_TRUST_CRL_CHECK 5
#define SSLCODES_TRUST_MODSSL_VERIFY 6
#define SSLCODES_TRUST_CONF_CMD 7
/* mod_ssl's SSLOCSPEnable, as read by the module. */
typedef enum {
    SSLCODES_OCSP_OFF = 0,
    SSLCODES_OCSP_LEAF,               /* the client certificate only      */
    SSLCODES_OCSP_CHAIN               /* every certificate of its chain   */
} sslcodes_ocsp_e;

/* Bits of sslcodes_srv_conf.dir_verify: what SSLCodesVerifyClient said in
 * the <Location>, <Directory> and <Files> sections of a server. */
#define SSLCODES_DIR_SEEN 1           /* any value: 496 waits for the URL */
#define SSLCODES_DIR_ASKS 2           /* other than off: ask at handshake */

/* SSLCodesOCSPCache: a socache provider and its instance. */
typedef struct sslcodes_ocsp_cache sslcodes_ocsp_cache;

/* A server's OCSP settings made ready for use at startup
 * (sslcodes_checks.c). */
typedef struct {
    sslcodes_url *responder;              /* SSLOCSPDefaultResponder     */
    sslcodes_url *proxy;                  /* SSLOCSPProxyURL             */
    STACK_OF(X509) *certs;                /* ...ResponderCertificateFile */
    unsigned long verify_flags;           /* for OCSP_basic_verify()     */
} sslcodes_ocsp_srv;

/* One SSLCodesErrorDocument line, shared by the codes it names. */
typedef struct {
    sslcodes_action_spec spec;
    ap_expr_info_t *expr;             /* spec.arg parsed, if spec.is_expr */
} sslcodes_action;

typedef struct {
    int enabled;                      /* SSLCodes                         */
    int verify;                       /* SSLCodesVerifyClient             */
    int wire;                         /* SSLCodesWireStatus               */
    apr_interval_time_t peek_timeout; /* SSLCodesPeekTimeout             */
    const sslcodes_action *action[SSLCODES_NCODES]; /* SSLCodesErrorDocument */
    int verify_depth;                 /* mod_ssl's SSLVerifyDepth, read   */
    int crl_optional;                 /* ... and no_crl_for_cert_ok       */
    const char *trust[SSLCODES_NTRUST]; /* mod_ssl's client-CA lines, read */
    apr_interval_time_t handshake_timeout; /* RequestReadTimeout handshake= */
    int header_too_large;             /* SSLCodesHeaderTooLarge           */
    int dir_verify;                   /* SSLCODES_DIR_* bits              */
    /* mod_ssl's OCSP settings, read as they go by (sslcodes_ocsp.c). */
    int ocsp;                         /* SSLOCSPEnable: sslcodes_ocsp_e   */
    int ocsp_no_url_ok;               /* ... and no_ocsp_for_cert_ok      */
    const char *ocsp_responder;       /* SSLOCSPDefaultResponder          */
    int ocsp_override;                /* SSLOCSPOverrideResponder         */
    apr_interval_time_t ocsp_timeout; /* SSLOCSPResponderTimeout          */
    long ocsp_skew;                   /* SSLOCSPResponseTimeSkew, seconds */
    long ocsp_maxage;                 /* SSLOCSPResponseMaxAge, seconds   */
    int ocsp_nonce;                   /* SSLOCSPUseRequestNonce           */
    int ocsp_noverify;                /* SSLOCSPNoVerify                  */
    const char *ocsp_certs_file;      /* SSLOCSPResponderCertificateFile  */
    const char *ocsp_proxy;           /* SSLOCSPProxyURL                  */
    sslcodes_ocsp_cache *ocsp_cache;  /* SSLCodesOCSPCache (server only)  */
    /* Whether mod_ssl will set the server up for TLS, read as it goes by
     * for configtest's checks (sslcodes_check_config()). */
    int ssl_engine;                   /* SSLEngine: sslcodes_engine_e     */
    int ssl_cert;                     /* an SSLCertificateFile line       */

    /* Derived at startup, never merged. */
    int is_tls;                       /* mod_ssl set this server up       */
    int classify;                     /* peek at connections to it        */
    int watch_verify;                 /* keep the SSL of connections      */
    int watch_494;                    /* note header lines: some vhost on
                                       * the address says 494             */
    sslcodes_ocsp_srv *ocsp_ready;    /* OCSP URLs and certificates       */
    int session_tagged;               /* session_tag is set               */
    unsigned char session_tag[32];    /* how it checks client certificates */
} sslcodes_srv_conf;

/* mod_ssl's SSLEngine, as far as the module needs to know it. */
typedef enum {
    SSLCODES_ENGINE_OFF = 0,
    SSLCODES_ENGINE_ON,               /* on or optional: set up for TLS   */
    SSLCODES_ENGINE_OTHER             /* a value mod_ssl judges itself    */
} sslcodes_engine_e;

/* SSLCodesClientClosed: what a client that leaves before the answer
 * gets. */
typedef enum {
    SSLCODES_CLOSED_OFF = 0,          /* stock                            */
    SSLCODES_CLOSED_ABORT,            /* on: 499, and the backend is shut */
    SSLCODES_CLOSED_LOG               /* log: 499; the backend finishes   */
} sslcodes_closed_e;

/* Per directory: SSLCodesVerifyClient in <Location>, <Directory>,
 * <Files> and .htaccess; SSLCodesClientClosed in the server's sections
 * (its value at server level is the server's default section's). */
typedef struct {
    int verify;                       /* sslcodes_verify_e, or UNSET      */
    int client_closed;                /* sslcodes_closed_e, or UNSET      */
} sslcodes_dir_conf;

/* What a connection was found to be; set only for the ones looked at:
 * plain ones, TLS ones behind a PROXY header that names a destination,
 * and TLS ones whose client certificate matters. */
typedef struct {
    sslcodes_conn_class_e first;
    SSL *ssl;                         /* TLS: mod_ssl's, from pre_handshake */
    long verify_error;                /* first failure, else X509_V_OK     */

    /* Until the first request line (sslcodes_conn.c). */
    apr_socket_t *sock;
    apr_interval_time_t bound;        /* the one figure, for the log       */
    apr_time_t deadline;              /* peek start + bound                */
    ap_filter_t *deadline_filter;     /* SSLCODES_DEADLINE, while it runs  */
    ap_filter_t *first_filter;        /* SSLCODES_FIRST, while it runs     */
    int line_started;                 /* plain: a request byte was seen    */
    int first_done;                   /* SSLCODES_FIRST passes all through */
    apr_port_t proxy_port;            /* PROXY header's destination, or 0  */
} sslcodes_conn;

/*
 * What was decided about a request (sslcodes_decide()), and how it was
 * answered (sslcodes_answer()).  A 49x verdict is kept in the
 * request_config of the request the module answered and of its error
 * document: the access log, the counters and a client that leaves later
 * all see this one record.
 */
typedef struct {
    int code;                         /* 494..497; 400 or 421: not kept    */
    const char *reason;               /* the event, for the info line      */
    server_rec *server;               /* whose SSLCodes* settings apply    */
    int no_cache;                     /* a location decided: no cache      */
    long verify_error;                /* 495: the X.509 error              */
    const char *verify_text;          /* 495: "NUM:text"                   */
    const char *client_verify;        /* 495: SSL_CLIENT_VERIFY            */
    apr_port_t port;                  /* 497: where the client connected   */
    /* Set by the answer. */
    int status;                       /* the status sent for it            */
    const char *status_line;          /* what the wire carries, or NULL    */
    const char *fallback;             /* default page, if a document fails */
} sslcodes_verdict;

#define sslcodes_verdict_of(r) \
    ((sslcodes_verdict *)ap_get_module_config((r)->request_config, \
                                              &sslcodes_module))

/* The statuses of nginx's other codes. */
#define SSLCODES_CLOSE 444
#define SSLCODES_CLIENT_CLOSED 499
/* Set on a request counted as 400 or 444; a 49x has its verdict. */
#define SSLCODES_COUNTED_NOTE "sslcodes-counted"

#define sslcodes_srv(s) \
    ((sslcodes_srv_conf *)ap_get_module_config((s)->module_config, \
                                               &sslcodes_module))

/* A vhost's port, for messages: its ServerName's, else its address's. */
static APR_INLINE unsigned sslcodes_vhost_port(const server_rec *s)
{
    return s->port ? s->port : (s->addrs ? s->addrs->host_port : 0);
}

#define sslcodes_dir(r) \
    ((sslcodes_dir_conf *)ap_get_module_config((r)->per_dir_config, \
                                               &sslcodes_module))

#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility push(hidden)
#endif

/* sslcodes_config.c: directives and their merging */
void *sslcodes_create_srv(apr_pool_t *p, server_rec *s);
void *sslcodes_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *sslcodes_create_dir(apr_pool_t *p, char *path);
void *sslcodes_merge_dir(apr_pool_t *p, void *basev, void *addv);
void sslcodes_resolve_defaults(server_rec *s, sslcodes_srv_conf *sc);
const char *sslcodes_set_enabled(cmd_parms *cmd, void *dc, int on);
const char *sslcodes_set_verify(cmd_parms *cmd, void *dc, const char *arg);
const char *sslcodes_set_ocsp_cache(cmd_parms *cmd, void *dc,
                                    const char *arg);
const char *sslcodes_set_error_document(cmd_parms *cmd, void *dc,
                                        const char *args);
const char *sslcodes_set_wire(cmd_parms *cmd, void *dc, const char *arg);
const char *sslcodes_set_peek_timeout(cmd_parms *cmd, void *dc,
                                      const char *arg);
const char *sslcodes_set_header_too_large(cmd_parms *cmd, void *dc, int on);
const char *sslcodes_set_client_closed(cmd_parms *cmd, void *dc,
                                       const char *arg);
int sslcodes_keyword(const char *arg, const char *const *names);

/* sslcodes_notes.c: mod_ssl's and mod_reqtimeout's directives */
const char *sslcodes_note_trust(cmd_parms *cmd, void *dc, const char *args);
const char *sslcodes_note_ssl_engine(cmd_parms *cmd, void *dc,
                                     const char *args);
const char *sslcodes_note_ssl_cert(cmd_parms *cmd, void *dc,
                                   const char *args);
const char *sslcodes_note_verify_depth(cmd_parms *cmd, void *dc,
                                       const char *arg);
const char *sslcodes_note_crl_check(cmd_parms *cmd, void *dc,
                                    const char *args);
const char *sslcodes_note_reqtimeout(cmd_parms *cmd, void *dc,
                                     const char *args);
const char *sslcodes_note_ocsp_enable(cmd_parms *cmd, void *dc,
                                      const char *args);
const char *sslcodes_note_ocsp_url(cmd_parms *cmd, void *dc,
                                   const char *arg);
const char *sslcodes_note_ocsp_flag(cmd_parms *cmd, void *dc, int on);
const char *sslcodes_note_ocsp_seconds(cmd_parms *cmd, void *dc,
                                       const char *arg);
const char *sslcodes_note_ocsp_certs(cmd_parms *cmd, void *dc,
                                     const char *arg);

/* The handshake asks for a certificate: SSLCodesVerifyClient says so for
 * the vhost or for one of its locations. */
static APR_INLINE int sslcodes_wants_verify(const sslcodes_srv_conf *sc)
{
    return sc->verify != SSLCODES_VERIFY_OFF
        || (sc->dir_verify & SSLCODES_DIR_ASKS);
}

/* sslcodes_checks.c: what stops startup, and configtest */
int sslcodes_check_lines(server_rec *main_s, apr_pool_t *ptemp);
int sslcodes_ocsp_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx);

/* sslcodes_init.c: startup */
int sslcodes_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp);
int sslcodes_post_config_before_ssl(apr_pool_t *pconf, apr_pool_t *plog,
                                    apr_pool_t *ptemp, server_rec *main_s);
int sslcodes_init_server(server_rec *s, apr_pool_t *p, int is_proxy,
                         SSL_CTX *ctx);
int sslcodes_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *main_s);
int sslcodes_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *main_s);
void sslcodes_child_init(apr_pool_t *p, server_rec *s);

/* sslcodes_socket.c: waiting on a socket, below every part */
apr_status_t sslcodes_poll_until(int fd, short events, apr_time_t deadline,
                                 short *revents);
/* Wait for readable data until DEADLINE.  Sets *eof when the peer will
 * send no more. */
apr_status_t sslcodes_poll_readable(int fd, apr_time_t deadline, int *eof);
/* Has the client closed, or half-closed, its side?  Over HTTP/2, has it
 * reset this stream? */
int sslcodes_client_gone(conn_rec *c);

/* sslcodes_conn.c: classification before mod_ssl */
void sslcodes_conn_register(void);
int sslcodes_pre_connection(conn_rec *c, void *csd);
sslcodes_conn *sslcodes_conn_new(conn_rec *c, sslcodes_conn_class_e first);
void sslcodes_conn_watch(conn_rec *c, sslcodes_conn *cc);
void sslcodes_conn_request_starts(request_rec *r);
sslcodes_conn *sslcodes_conn_get(conn_rec *c);
SSL *sslcodes_conn_ssl(conn_rec *c, sslcodes_conn *cc);
apr_port_t sslcodes_client_port(conn_rec *c);
sslcodes_conn_class_e sslcodes_conn_status(conn_rec *c, long *verify_result);

/*
 * Write a failure the verify callback recorded back as the connection's
 * verify result, so that mod_ssl's variables (SSL_CLIENT_VERIFY, Require
 * ssl-verify-client, %{SSL:...}, CGI environment, the access log) say
 * FAILED.  Done as soon as the handshake is over, on every request, and
 * again after mod_ssl's access hook, which resets a TLS 1.2 connection's
 * result on each request.  Not earlier: mod_ssl ends the handshake if it
 * sees a failure right after it.  Here because both the connection's
 * filter and the verification use it.
 */
static APR_INLINE void sslcodes_conn_sync_verify(conn_rec *c,
                                                  sslcodes_conn *cc)
{
    if (cc->verify_error != X509_V_OK && sslcodes_conn_ssl(c, cc)) {
        SSL_set_verify_result(cc->ssl, cc->verify_error);
    }
}

/* sslcodes_verify.c: SSLCodesVerifyClient */
void sslcodes_verify_note_ctx(server_rec *s, SSL_CTX *ctx);
server_rec *sslcodes_ctx_server(SSL_CTX *ctx);
server_rec *sslcodes_tls_server(conn_rec *c);
int sslcodes_verify_init_server(server_rec *s, SSL_CTX *ctx);
int sslcodes_verify_check_lines(server_rec *s, apr_pool_t *p);
/* mod_ssl's SSLVerifyClient at server level, as the module reads it. */
#define SSLCODES_MODSSL_NONE 0            /* none, off, or no line   */
#define SSLCODES_MODSSL_ASKS 1            /* optional, optional_no_ca */
#define SSLCODES_MODSSL_REQUIRE 2         /* require, on              */
int sslcodes_modssl_verify_line(const sslcodes_srv_conf *sc, apr_pool_t *p);
int sslcodes_pre_handshake(conn_rec *c, SSL *ssl, int is_proxy);
int sslcodes_verify_failed(request_rec *r, sslcodes_conn *cc);
int sslcodes_verify_decide(request_rec *r, sslcodes_conn *cc, int mode);
int sslcodes_verify_check(request_rec *r, sslcodes_conn *cc);
int sslcodes_verify_access(request_rec *r);
int sslcodes_verify_expr_lookup(ap_expr_lookup_parms *parms);
int sslcodes_verify_error_is_optional(long err);
const char *sslcodes_verify_error_text(apr_pool_t *p, long err);

/* sslcodes_request.c: the request hooks, and sslcodes_decide() */
int sslcodes_create_request(request_rec *r);
int sslcodes_post_read_request(request_rec *r);
int sslcodes_post_perdir_config(request_rec *r);
void sslcodes_insert_error_filter(request_rec *r);
void sslcodes_insert_filter(request_rec *r);
int sslcodes_log_transaction(request_rec *r);

/* sslcodes_response.c: answering a verdict */
int sslcodes_answer(request_rec *r, sslcodes_verdict *v);
void sslcodes_answer_carry_over(request_rec *r, const sslcodes_verdict *v);
int sslcodes_answer_original(request_rec *r, const char *why);
const char *sslcodes_check_status(int status);

/* sslcodes_vars.c: SSLCODES_HOST and SSLCODES_REQUEST_URI */
request_rec *sslcodes_original(request_rec *r);
const char *sslcodes_host(request_rec *r);
int sslcodes_expr_lookup(ap_expr_lookup_parms *parms);

/* sslcodes_limits.c: nginx's other codes, 494 (SSLCodesHeaderTooLarge),
 * 444 (no answer at all) and 499 (SSLCodesClientClosed) */
void sslcodes_limits_register(void);
void sslcodes_limits_note_lines(request_rec *r);
int sslcodes_limits_read(request_rec *r);
int sslcodes_limits_too_large(request_rec *r, const char **reason);
void sslcodes_limits_close(request_rec *r);
void sslcodes_limits_watch(request_rec *r);

/* sslcodes_watch.c: 499 while a request waits on a backend (the watch
 * runs where epoll, eventfd and threads are: Linux) */
#if defined(__linux__) && APR_HAS_THREADS
#define SSLCODES_HAVE_WATCH 1
#endif
void sslcodes_watch_in_use(void);
void sslcodes_watch_pre_config(void);
void sslcodes_watch_child_init(apr_pool_t *pchild, server_rec *s);
void sslcodes_watch_request(request_rec *r);
int sslcodes_watch_answer(request_rec *r, int gone);
void sslcodes_watch_end(request_rec *r);
int sslcodes_watch_saw_leave(request_rec *r);
int sslcodes_watch_backend(request_rec *r, request_rec *backend);

/* sslcodes_blocked.c: the outgoing socket a thread waits on (Linux) */
#ifdef __linux__
int sslcodes_blocked_readable(void);
int sslcodes_blocked_shut(pid_t tid, int client_fd, dev_t client_dev,
                          ino_t client_ino);
#endif

/* sslcodes_status.c: answer counters, shared by all children, shown by
 * mod_status.  CODE is what the request earned, not what went on the
 * wire: 494 to 497 (also in nginx mode, which sends 400), 444, 499, or 400
 * for mod_ssl's answer to plain HTTP on a vhost with SSLCodes off.  Other
 * codes are ignored.  Lock-free; callable from any hook in a child. */
void sslcodes_status_count(int code);
void sslcodes_status_post_config(server_rec *s);
void sslcodes_status_register(void);

/* sslcodes_session.c: TLS sessions kept to vhosts that check client
 * certificates alike */
void sslcodes_session_pre_ssl(server_rec *main_s);
void sslcodes_session_init_server(server_rec *s, SSL_CTX *ctx);

/* sslcodes_perdir.c: SSLCodesVerifyClient in a location */
/* Does any section say SSLCodesVerifyClient for R's location?  Asked on
 * every request, so inline: most say nothing. */
static APR_INLINE int sslcodes_perdir_applies(request_rec *r)
{
    const sslcodes_dir_conf *dc = sslcodes_dir(r);

    return dc && (dc->verify != SSLCODES_UNSET
                  || sslcodes_srv(r->server)->dir_verify);
}

void sslcodes_perdir_in_use(void);
int sslcodes_perdir_decide(request_rec *r, sslcodes_verdict *v);
void sslcodes_perdir_no_cache(request_rec *r);
void sslcodes_perdir_remark(request_rec *r);
int sslcodes_perdir_refuse_subrequest(request_rec *r,
                                      const sslcodes_verdict *v);
int sslcodes_perdir_refuse_document(request_rec *r,
                                    const sslcodes_verdict *v);
const sslcodes_verdict *sslcodes_perdir_pending(request_rec *r);
int sslcodes_perdir_logged_status(request_rec *r);

/* sslcodes_ocsp.c: OCSP for client certificates */
int sslcodes_ocsp_applies(server_rec *s, int depth);
long sslcodes_ocsp_check(server_rec *s, conn_rec *c, X509_STORE_CTX *store);

/* sslcodes_ocsp_cache.c: SSLCodesOCSPCache */
#define SSLCODES_OCSP_KEY_LEN 32      /* a SHA-256 */
const char *sslcodes_ocsp_cache_config(cmd_parms *cmd, const char *arg,
                                       sslcodes_ocsp_cache **out);
int sslcodes_ocsp_cache_pre_config(apr_pool_t *pconf);
int sslcodes_ocsp_cache_check(server_rec *main_s, apr_pool_t *p, int in_use);
int sslcodes_ocsp_cache_post_config(apr_pool_t *pconf, server_rec *main_s,
                                    int in_use);
void sslcodes_ocsp_cache_child_init(apr_pool_t *p, server_rec *s);
int sslcodes_ocsp_cache_on(void);
int sslcodes_ocsp_cache_get(server_rec *s, apr_pool_t *p,
                            const unsigned char *key, sslcodes_ocsp_entry *e);
apr_status_t sslcodes_ocsp_cache_put(server_rec *s, apr_pool_t *p,
                                     const unsigned char *key,
                                     const sslcodes_ocsp_entry *e,
                                     apr_time_t until);

/* sslcodes_store.c: a socache on the network, asked with a deadline */
typedef struct sslcodes_store sslcodes_store;
sslcodes_store *sslcodes_store_start(const ap_socache_provider_t *provider,
                                     ap_socache_instance_t *instance,
                                     server_rec *s);
apr_status_t sslcodes_store_get(sslcodes_store *st, server_rec *s,
                                const unsigned char *key,
                                unsigned char *data, unsigned int *len,
                                apr_time_t deadline);
apr_status_t sslcodes_store_put(sslcodes_store *st, server_rec *s,
                                const unsigned char *key,
                                const unsigned char *data, unsigned int len,
                                apr_time_t expiry);

/* sslcodes_ocsp_http.c: asking an OCSP responder */
typedef enum {
    SSLCODES_FETCH_OK = 0,
    SSLCODES_FETCH_UNREACHABLE,       /* no connection                  */
    SSLCODES_FETCH_TIMEOUT,           /* SSLOCSPResponderTimeout passed */
    SSLCODES_FETCH_FAILED             /* the HTTP exchange failed       */
} sslcodes_fetch_e;

const char *sslcodes_ssl_why(apr_pool_t *p, const char *what);
#ifndef OPENSSL_NO_OCSP
sslcodes_fetch_e sslcodes_ocsp_fetch(apr_pool_t *p, const sslcodes_url *to,
                                     const sslcodes_url *proxy,
                                     apr_interval_time_t timeout,
                                     OCSP_REQUEST *req, OCSP_RESPONSE **resp,
                                     const char **why);
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility pop
#endif

#endif /* SSLCODES_PRIVATE_H */
