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
 * sslcodes_session.c: TLS sessions stay with the virtual hosts that check
 * client certificates the way they were checked.
 *
 * mod_ssl's session id context is ServerName:port.  Two vhosts with the
 * same pair (on two ports with one explicit ServerName, or on two
 * addresses) share it, and with a shared ticket key or session cache a
 * session verified by one resumes, verified, in the other, whatever the
 * other's CAs.  nginx avoids this by deriving its context from the
 * server's certificates and client CA list.  Here every session carries a
 * digest of how the vhost that made it checks client certificates (the
 * module's mode, mod_ssl's client-CA lines, OCSP settings), stored in the
 * session's ticket application data, which OpenSSL keeps in tickets and
 * in the serialised sessions of a session cache.  A session whose digest
 * is not the resuming vhost's is not resumed: a full handshake follows,
 * and the client's certificate is checked again.
 *
 * This is done with OpenSSL's ticket callbacks and by wrapping mod_ssl's
 * session cache callbacks, which are called after mod_ssl has switched to
 * the SNI vhost, so the digest compared is the vhost that now answers.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_strings.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

#if OPENSSL_VERSION_NUMBER < 0x10101000L
#error "mod_sslcodes needs OpenSSL 1.1.1 or later"
#endif

/* Set at startup when any vhost checks client certificates with this
 * module; otherwise sessions are left entirely to mod_ssl. */
static int sslcodes_session_guard;

/* Set at startup when any TLS vhost can resume a session at all: with
 * tickets, or with a session cache.  With neither ("SSLSessionTickets
 * off" and "SSLSessionCache none" everywhere), OpenSSL still makes TLS 1.3
 * tickets, but none can ever be used, so they are not stamped. */
static int sslcodes_session_resumable;

typedef SSL_SESSION *(*sslcodes_get_cb)(SSL *, const unsigned char *, int,
                                        int *);
typedef int (*sslcodes_new_cb)(SSL *, SSL_SESSION *);

/* mod_ssl's session cache callbacks, wrapped. */
static sslcodes_get_cb sslcodes_modssl_get;
static sslcodes_new_cb sslcodes_modssl_new;

static void sslcodes_digest_str(EVP_MD_CTX *md, const char *what)
{
    /* The terminating NUL keeps "ab","c" apart from "a","bc". */
    EVP_DigestUpdate(md, what ? what : "", what ? strlen(what) + 1 : 1);
}

/* The digest of how S checks client certificates. */
static void sslcodes_session_tag(server_rec *s, sslcodes_srv_conf *sc)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *how;
    unsigned int n = 0;
    int i;

    how = apr_psprintf(s->process->pconf, "mode=%d|dir=%d|ocsp=%d|%d|%d|"
                       "%" APR_TIME_T_FMT "|%ld|%ld|%d|%d", sc->verify,
                       sc->dir_verify, sc->ocsp, sc->ocsp_no_url_ok,
                       sc->ocsp_override, sc->ocsp_timeout, sc->ocsp_skew,
                       sc->ocsp_maxage, sc->ocsp_nonce, sc->ocsp_noverify);
    sc->session_tagged = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    if (sc->session_tagged) {
        sslcodes_digest_str(md, how);
        for (i = 0; i < SSLCODES_NTRUST; i++) {
            sslcodes_digest_str(md, sc->trust[i]);
        }
        sslcodes_digest_str(md, sc->ocsp_responder);
        sslcodes_digest_str(md, sc->ocsp_certs_file);
        sc->session_tagged = EVP_DigestFinal_ex(md, sc->session_tag, &n)
                             && n == sizeof(sc->session_tag);
    }
    EVP_MD_CTX_free(md);
}

/* The tagged config of the vhost SSL is answering for now (after SNI). */
static const sslcodes_srv_conf *sslcodes_session_srv(SSL *ssl)
{
    server_rec *s = sslcodes_ctx_server(SSL_get_SSL_CTX(ssl));
    const sslcodes_srv_conf *sc = s ? sslcodes_srv(s) : NULL;

    return sc && sc->session_tagged ? sc : NULL;
}

static void sslcodes_session_stamp(SSL *ssl, SSL_SESSION *sess)
{
    const sslcodes_srv_conf *sc = sslcodes_session_srv(ssl);

    if (sc && sess) {
        SSL_SESSION_set1_ticket_appdata(sess, sc->session_tag,
                                        sizeof(sc->session_tag));
    }
}

/* Would the vhost SSL answers for now check certificates as the one that
 * made SESS did?  A session without a digest (made before this server
 * started, or by an instance without the module) is not trusted. */
static int sslcodes_session_fits(SSL *ssl, SSL_SESSION *sess)
{
    const sslcodes_srv_conf *sc = sslcodes_session_srv(ssl);
    void *data = NULL;
    size_t len = 0;

    if (!sc) {
        return 1;
    }
    return SSL_SESSION_get0_ticket_appdata(sess, &data, &len)
        && len == sizeof(sc->session_tag)
        && memcmp(data, sc->session_tag, len) == 0;
}

static void sslcodes_session_log_refused(SSL *ssl, const char *how)
{
    conn_rec *c = SSL_get_app_data(ssl);

    if (c && APLOGctrace1(c)) {
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, "TLS session by %s "
                      "not resumed: made by a virtual host that checks "
                      "client certificates differently", how);
    }
}

/* Ticket callbacks (TLS 1.2 tickets, TLS 1.3 tickets): stamp the session
 * before its ticket is sealed, and check the stamp once it is opened. */
static int sslcodes_ticket_gen(SSL *ssl, void *arg)
{
    (void)arg;
    if (sslcodes_session_resumable) {
        sslcodes_session_stamp(ssl, SSL_get_session(ssl));
    }
    return 1;
}

static SSL_TICKET_RETURN sslcodes_ticket_dec(SSL *ssl, SSL_SESSION *sess,
                                             const unsigned char *keyname,
                                             size_t keyname_len,
                                             SSL_TICKET_STATUS status,
                                             void *arg)
{
    (void)keyname;
    (void)keyname_len;
    (void)arg;
    switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
        if (!sslcodes_session_fits(ssl, sess)) {
            sslcodes_session_log_refused(ssl, "ticket");
            return SSL_TICKET_RETURN_IGNORE_RENEW;
        }
        return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE
                                            : SSL_TICKET_RETURN_USE_RENEW;
    case SSL_TICKET_FATAL_ERR_MALLOC:
    case SSL_TICKET_FATAL_ERR_OTHER:
        return SSL_TICKET_RETURN_ABORT;
    default:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
}

/* Session cache callbacks (session ids, TLS 1.3 stateful tickets). */
static int sslcodes_session_new(SSL *ssl, SSL_SESSION *sess)
{
    sslcodes_session_stamp(ssl, sess);
    return sslcodes_modssl_new(ssl, sess);
}

static SSL_SESSION *sslcodes_session_get(SSL *ssl, const unsigned char *id,
                                         int idlen, int *copy)
{
    SSL_SESSION *sess = sslcodes_modssl_get(ssl, id, idlen, copy);

    if (sess && !sslcodes_session_fits(ssl, sess)) {
        sslcodes_session_log_refused(ssl, "session id");
        if (!*copy) {
            SSL_SESSION_free(sess);
        }
        *copy = 0;
        return NULL;
    }
    return sess;
}

/* Before mod_ssl's post_config, which runs the init_server hook: is any
 * vhost's client certificate checked by this module? */
void sslcodes_session_pre_ssl(server_rec *main_s)
{
    server_rec *s;
    const sslcodes_srv_conf *sc;

    sslcodes_session_guard = 0;
    sslcodes_session_resumable = 0;
    for (s = main_s; s; s = s->next) {
        sc = sslcodes_srv(s);
        if (sc->verify != SSLCODES_VERIFY_OFF
            || (sc->dir_verify & SSLCODES_DIR_ASKS)) {
            sslcodes_session_guard = 1;
        }
    }
}

/*
 * Every TLS vhost's SSL_CTX, once mod_ssl has set it up.  Any of them can
 * be the one a connection starts with, whose callbacks OpenSSL calls for
 * sessions, so all get them while the guard is on.
 */
void sslcodes_session_init_server(server_rec *s, SSL_CTX *ctx)
{
    sslcodes_srv_conf *sc = sslcodes_srv(s);
    sslcodes_get_cb get = SSL_CTX_sess_get_get_cb(ctx);
    sslcodes_new_cb new = SSL_CTX_sess_get_new_cb(ctx);

    sc->session_tagged = 0;
    if (!sslcodes_session_guard) {
        return;
    }
    if (!(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET)
        || SSL_CTX_get_session_cache_mode(ctx) != SSL_SESS_CACHE_OFF) {
        sslcodes_session_resumable = 1;
    }
    sslcodes_session_tag(s, sc);
    SSL_CTX_set_session_ticket_cb(ctx, sslcodes_ticket_gen,
                                  sslcodes_ticket_dec, NULL);
    if (get && get != sslcodes_session_get) {
        sslcodes_modssl_get = get;
        SSL_CTX_sess_set_get_cb(ctx, sslcodes_session_get);
    }
    if (new && new != sslcodes_session_new) {
        sslcodes_modssl_new = new;
        SSL_CTX_sess_set_new_cb(ctx, sslcodes_session_new);
    }
}
