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
 * sslcodes_conn.c: look at a new connection's first bytes before mod_ssl
 * does, and take plain-text connections away from it.
 */

#include <errno.h>
#include <sys/socket.h>

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_ssl.h"

#include "apr_network_io.h"
#include "apr_portable.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

/* Ask the kernel to wake poll() only once NEED bytes are queued, so that
 * waiting for the rest of a PROXY header never spins on the bytes already
 * there.  NEED is at most SSLCODES_PEEK_MAX. */
static void sslcodes_set_lowat(int fd, size_t need)
{
    int lowat = (int)need;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
}

/*
 * Peek until the first bytes decide TLS or plain, and read the destination
 * from a PROXY header in front of them.  The common case is one recv(): the
 * listener's accept filter ("data") only hands over connections that have
 * already sent something.
 */
static apr_status_t sslcodes_peek(apr_socket_t *csd, apr_time_t deadline,
                                  sslcodes_first_e *first,
                                  sslcodes_proxy_dst *dst)
{
    unsigned char buf[SSLCODES_PEEK_MAX];
    apr_os_sock_t fd;
    apr_status_t rv = APR_SUCCESS;
    size_t need = 1, lowat = 1;
    ssize_t n;
    int eof = 0;

    if ((rv = apr_os_sock_get(&fd, csd)) != APR_SUCCESS) {
        return rv;
    }
    for (;;) {
        n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) {
            *first = sslcodes_classify(buf, (size_t)n, eof, &need);
            if (*first != SSLCODES_FIRST_MORE) {
                sslcodes_proxy_dest(buf, (size_t)n, dst);
                break;
            }
        }
        else if (n == 0) {
            rv = APR_EOF;
            break;
        }
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            rv = APR_FROM_OS_ERROR(errno);
            break;
        }
        if (need != lowat) {
            sslcodes_set_lowat(fd, need);
            lowat = need;
        }
        if ((rv = sslcodes_poll_readable(fd, deadline, &eof)) != APR_SUCCESS) {
            break;
        }
    }
    if (lowat != 1) {
        sslcodes_set_lowat(fd, 1);
    }
    return rv;
}

/* Make mod_ssl stand down for this connection before its pre_connection
 * hook runs.  Binding "outgoing" with TLS disabled makes it record the
 * connection as disabled: no SSL filters, ap_ssl_conn_is_ssl() == 0 and
 * HTTPS off.  The connection is incoming, so the flag is put back. */
static void sslcodes_ssl_stand_down(conn_rec *c)
{
    (void)ap_ssl_bind_outgoing(c, NULL, 0);
    c->outgoing = 0;
}

/* --- Until the first request line ---------------------------------------- */

/* Filter names; registered in sslcodes_conn_register(). */
#define SSLCODES_DEADLINE_FILTER "SSLCODES_DEADLINE"
#define SSLCODES_FIRST_FILTER    "SSLCODES_FIRST"

static ap_filter_rec_t *sslcodes_deadline_handle;
static ap_filter_rec_t *sslcodes_first_handle;

/*
 * Every read from the socket, until the request line is in (plain) or the
 * handshake is done (TLS), waits no later than the connection's deadline:
 * one figure, counted from the start of the peek, however the client
 * trickles.  This sits right above the socket, below mod_reqtimeout and
 * mod_ssl, so that no socket timeout set above it can stretch the wait.
 */
static apr_status_t sslcodes_deadline_filter(ap_filter_t *f,
                                             apr_bucket_brigade *bb,
                                             ap_input_mode_t mode,
                                             apr_read_type_e block,
                                             apr_off_t readbytes)
{
    sslcodes_conn *cc = f->ctx;
    apr_interval_time_t left = cc->deadline - apr_time_now(), saved;
    apr_status_t rv;

    if (left <= 0) {
        rv = APR_TIMEUP;
    }
    else if (block == APR_NONBLOCK_READ
             || apr_socket_timeout_get(cc->sock, &saved) != APR_SUCCESS) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    else {
        if (saved < 0 || saved > left) {
            apr_socket_timeout_set(cc->sock, left);
        }
        rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
        apr_socket_timeout_set(cc->sock, saved);
        if (!APR_STATUS_IS_TIMEUP(rv) || apr_time_now() < cc->deadline) {
            return rv;
        }
    }
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, f->c, SSLCODES_LOGNO(0006)
                  "client sent no %s within %" APR_TIME_T_FMT " ms of "
                  "connecting, closing",
                  cc->first == SSLCODES_CONN_PLAIN ? "request line"
                                                   : "complete TLS handshake",
                  apr_time_as_msec(cc->bound));
    return APR_TIMEUP;
}

/* Has BB, read in GETLINE or READBYTES mode, ended the request line: a LF
 * after something other than the empty lines a client may send first? */
static int sslcodes_ends_request_line(sslcodes_conn *cc,
                                      apr_bucket_brigade *bb)
{
    apr_bucket *b;
    const char *data, *end;
    apr_size_t len;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_METADATA(b)
            || apr_bucket_read(b, &data, &len, APR_BLOCK_READ)
               != APR_SUCCESS) {
            continue;
        }
        end = data + len;
        /* The empty lines a client may send before its request line. */
        while (!cc->line_started && data < end) {
            cc->line_started = *data != '\r' && *data != '\n';
            data += !cc->line_started;
        }
        if (data < end && memchr(data, '\n', end - data)) {
            return 1;
        }
    }
    return 0;
}

/* The deadline is over.  The deadline filter, below mod_ssl, goes; this
 * one stays as a pass-through: it heads the connection's chain, which the
 * request being read has already taken as its own. */
static void sslcodes_deadline_done(sslcodes_conn *cc)
{
    if (cc->deadline_filter) {
        ap_remove_input_filter(cc->deadline_filter);
        cc->deadline_filter = NULL;
    }
}

/*
 * Above mod_ssl: what comes up here is plain text.
 * - TLS: the first data means the handshake is over, and mod_ssl has made
 *   its own check of the verify result.  A failure this module let through
 *   is written back now, before any request is read, so that even a
 *   request that httpd rejects while reading it is logged as FAILED.
 * - Plain: mod_http2 peeks 24 bytes speculatively for a cleartext HTTP/2
 *   preface where Protocols lists h2c.  On a TLS port that must never
 *   start HTTP/2, so speculative reads see one byte at most; the preface
 *   then reaches core as a request line it rejects with 400.
 */
static apr_status_t sslcodes_first_filter(ap_filter_t *f,
                                          apr_bucket_brigade *bb,
                                          ap_input_mode_t mode,
                                          apr_read_type_e block,
                                          apr_off_t readbytes)
{
    sslcodes_conn *cc = f->ctx;
    apr_status_t rv;

    if (cc->first == SSLCODES_CONN_PLAIN && mode == AP_MODE_SPECULATIVE) {
        return ap_get_brigade(f->next, bb, mode, block,
                              readbytes > 1 ? 1 : readbytes);
    }
    rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (cc->first_done || rv != APR_SUCCESS) {
        return rv;
    }
    /* mod_ssl makes the handshake in an AP_MODE_INIT read, which brings
     * no data: its success is the end of the handshake. */
    if (APR_BRIGADE_EMPTY(bb) && !(mode == AP_MODE_INIT
                                   && cc->first == SSLCODES_CONN_TLS)) {
        return rv;
    }
    if (cc->first == SSLCODES_CONN_PLAIN) {
        if (sslcodes_ends_request_line(cc, bb)) {
            sslcodes_deadline_done(cc);
            /* Speculative reads stay capped. */
            cc->first_done = 1;
        }
        return rv;
    }
    sslcodes_conn_sync_verify(f->c, cc);
    sslcodes_deadline_done(cc);
    cc->first_done = 1;
    return rv;
}

/* Watch a connection until its first request line; see the filters. */
void sslcodes_conn_watch(conn_rec *c, sslcodes_conn *cc)
{
    if (!cc->first_filter) {
        cc->first_filter = ap_add_input_filter_handle(sslcodes_first_handle,
                                                      cc, NULL, c);
    }
}

/*
 * A TLS connection's first-bytes filter has done its work once the
 * handshake is over.  It heads the connection's input chain, though, and a
 * request takes that chain as its own when it is made: the filter must
 * not leave it under a request that holds it (a request behind a PROXY
 * header once hung so).  So it leaves here, as a request is made and
 * before it reads a byte, fixing that request's pointers.  mod_ssl
 * usually completes the handshake before the first request (its
 * process_connection hook), so that is most often the first request;
 * else, the next.  A plain connection keeps the filter: speculative reads
 * stay capped until it closes.
 */
void sslcodes_conn_request_starts(request_rec *r)
{
    conn_rec *c = r->connection;
    sslcodes_conn *cc = ap_get_module_config(c->conn_config,
                                             &sslcodes_module);
    ap_filter_t *f, **p;

    if (!cc || !cc->first_done || !cc->first_filter
        || cc->first != SSLCODES_CONN_TLS) {
        return;
    }
    f = cc->first_filter;
    cc->first_filter = NULL;
    for (p = &r->input_filters; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    if (r->proto_input_filters == f) {
        r->proto_input_filters = f->next;
    }
    ap_remove_input_filter(f);
    ap_log_cerror(APLOG_MARK, APLOG_TRACE2, 0, c, "first-bytes filter "
                  "leaves the connection's chain");
}

static void sslcodes_set_deadline(conn_rec *c, sslcodes_conn *cc,
                                  apr_socket_t *sock, apr_time_t start,
                                  apr_interval_time_t bound)
{
    cc->sock = sock;
    cc->bound = bound;
    cc->deadline = start + bound;
    cc->deadline_filter = ap_add_input_filter_handle(sslcodes_deadline_handle,
                                                     cc, NULL, c);
    sslcodes_conn_watch(c, cc);
}

void sslcodes_conn_register(void)
{
    /* Right above the socket: see sslcodes_deadline_filter(). */
    sslcodes_deadline_handle =
        ap_register_input_filter(SSLCODES_DEADLINE_FILTER,
                                 sslcodes_deadline_filter, NULL,
                                 AP_FTYPE_NETWORK - 1);
    /* Right above mod_ssl's filter (AP_FTYPE_CONNECTION + 5). */
    sslcodes_first_handle =
        ap_register_input_filter(SSLCODES_FIRST_FILTER,
                                 sslcodes_first_filter, NULL,
                                 AP_FTYPE_CONNECTION + 4);
}

/* --- Classification ------------------------------------------------------ */

sslcodes_conn *sslcodes_conn_new(conn_rec *c, sslcodes_conn_class_e first)
{
    sslcodes_conn *cc = apr_pcalloc(c->pool, sizeof(*cc));

    cc->first = first;
    cc->verify_error = 0;                /* X509_V_OK */
    ap_set_module_config(c->conn_config, &sslcodes_module, cc);
    return cc;
}

/* Behind a load balancer: where the PROXY header says the client went. */
static void sslcodes_note_proxy_port(conn_rec *c, sslcodes_conn *cc,
                                     const sslcodes_proxy_dst *dst)
{
    cc->proxy_port = (apr_port_t)dst->port;
    if (dst->port) {
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, "PROXY header: the "
                      "client connected to port %u", dst->port);
    }
}

int sslcodes_pre_connection(conn_rec *c, void *csd)
{
    sslcodes_srv_conf *sc = sslcodes_srv(c->base_server);
    sslcodes_first_e first = SSLCODES_FIRST_UNKNOWN;
    sslcodes_proxy_dst dst = { 0 };
    apr_time_t start;
    sslcodes_conn *cc;
    apr_status_t rv;

    if (!sc->classify || c->master || c->outgoing) {
        return DECLINED;
    }
    start = apr_time_now();
    rv = sslcodes_peek(csd, start + sc->peek_timeout, &first, &dst);
    if (rv == APR_TIMEUP) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, SSLCODES_LOGNO(0002)
                      "client sent nothing within SSLCodesPeekTimeout "
                      "(%" APR_TIME_T_FMT " ms), closing",
                      apr_time_as_msec(sc->peek_timeout));
        /* Not OK nor DONE: httpd marks the connection aborted, sets up the
         * core filters itself and closes without logging a request. */
        return HTTP_REQUEST_TIME_OUT;
    }
    if (rv != APR_SUCCESS || first != SSLCODES_FIRST_PLAIN) {
        ap_log_cerror(APLOG_MARK, APLOG_TRACE2, rv, c,
                      "first bytes: %s",
                      rv != APR_SUCCESS ? "none (closed or failed)"
                      : first == SSLCODES_FIRST_TLS ? "TLS"
                      : "undecidable, left to mod_ssl");
        if (rv == APR_SUCCESS) {
            /* The handshake gets what is left of the same deadline. */
            cc = sslcodes_conn_get(c);
            if (!cc) {
                cc = sslcodes_conn_new(c, SSLCODES_CONN_TLS);
            }
            sslcodes_note_proxy_port(c, cc, &dst);
            sslcodes_set_deadline(c, cc, csd, start, sc->peek_timeout);
        }
        return DECLINED;
    }

    cc = sslcodes_conn_new(c, SSLCODES_CONN_PLAIN);
    sslcodes_note_proxy_port(c, cc, &dst);
    sslcodes_ssl_stand_down(c);
    sslcodes_set_deadline(c, cc, csd, start, sc->peek_timeout);
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c,
                  "first bytes are plain text: mod_ssl stands down");
    return DECLINED;
}

/*
 * CC's SSL, kept from pre_handshake, while it is still mod_ssl's; else
 * NULL, and it is forgotten.  mod_ssl frees a connection's SSL when its
 * handshake fails, when it finds plain HTTP there (it then still has
 * httpd read a request, which it answers with 400), and when the
 * connection's end (EOC) passes its filter, which mod_proxy_http and
 * core's header filter send in the middle of a request whose answer
 * failed; the request's hooks still run after that.
 */
SSL *sslcodes_conn_ssl(conn_rec *c, sslcodes_conn *cc)
{
    if (cc->ssl && !ap_ssl_conn_is_ssl(c->master ? c->master : c)) {
        cc->ssl = NULL;
    }
    return cc->ssl;
}

sslcodes_conn *sslcodes_conn_get(conn_rec *c)
{
    sslcodes_conn *cc;

    /* HTTP/2 streams run on secondary connections; the state is the
     * real connection's. */
    if (c->master) {
        c = c->master;
    }
    cc = ap_get_module_config(c->conn_config, &sslcodes_module);
    /* Every look at the SSL goes through here, or through
     * sslcodes_conn_sync_verify(). */
    if (cc && cc->ssl) {
        sslcodes_conn_ssl(c, cc);
    }
    return cc;
}

/*
 * Only mod_remoteip's RemoteIPProxyProtocol takes a PROXY header off a
 * connection, and it keeps a connection config only where it does.
 * Elsewhere a header that a client sends is read as its request, and says
 * nothing about where the client connected: it must not move a redirect
 * to another port.
 */
static int sslcodes_proxy_header_used(conn_rec *c)
{
    module *remoteip = ap_find_linked_module("mod_remoteip.c");

    return remoteip && ap_get_module_config(c->conn_config, remoteip);
}

/* The port the client connected to: behind a load balancer, the one the
 * PROXY header names, else this connection's own. */
apr_port_t sslcodes_client_port(conn_rec *c)
{
    sslcodes_conn *cc = sslcodes_conn_get(c);

    if (c->master) {
        c = c->master;
    }
    if (cc && cc->proxy_port && sslcodes_proxy_header_used(c)) {
        return cc->proxy_port;
    }
    return c->local_addr->port;
}

sslcodes_conn_class_e sslcodes_conn_status(conn_rec *c, long *verify_result)
{
    sslcodes_conn *cc = sslcodes_conn_get(c);

    if (verify_result) {
        *verify_result = (cc && cc->ssl) ? cc->verify_error : -1;
    }
    if (cc) {
        return cc->first;
    }
    return sslcodes_srv(c->master ? c->master->base_server
                                  : c->base_server)->classify
           ? SSLCODES_CONN_TLS : SSLCODES_CONN_UNCLASSIFIED;
}
