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
#include <poll.h>
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

/* Linux tells a half-closed peer apart; elsewhere a hang-up has to do. */
#ifdef POLLRDHUP
#define SSLCODES_POLL_EOF (POLLRDHUP | POLLHUP | POLLERR)
#else
#define SSLCODES_POLL_EOF (POLLHUP | POLLERR)
#endif

/* Ask the kernel to wake poll() only once NEED bytes are queued, so that
 * waiting for the rest of a PROXY header never spins on the bytes already
 * there.  NEED is at most SSLCODES_PEEK_MAX. */
static void sslcodes_set_lowat(int fd, size_t need)
{
    int lowat = (int)need;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
}

/* Wait for readable data until DEADLINE.  Sets *eof when the peer will
 * send no more. */
static apr_status_t sslcodes_wait(int fd, apr_time_t deadline, int *eof)
{
    struct pollfd pfd;
    apr_interval_time_t left;
    int rc;

    for (;;) {
        left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        pfd.fd = fd;
        pfd.events = POLLIN | SSLCODES_POLL_EOF;
        pfd.revents = 0;
        rc = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (rc > 0) {
            *eof = (pfd.revents & SSLCODES_POLL_EOF) != 0;
            return APR_SUCCESS;
        }
        if (rc == 0) {
            return APR_TIMEUP;
        }
        if (errno != EINTR) {
            return APR_FROM_OS_ERROR(errno);
        }
    }
}

/*
 * Peek until the first bytes decide TLS or plain, and read the destination
 * from a PROXY header in front of them.  The common case is one recv(): the
 * listener's accept filter ("data") only hands over connections that have
 * already sent something.
 */
static apr_status_t sslcodes_peek(apr_socket_t *csd, apr_interval_time_t tmo,
                                  sslcodes_first_e *first,
                                  sslcodes_proxy_dst *dst)
{
    unsigned char buf[SSLCODES_PEEK_MAX];
    apr_os_sock_t fd;
    apr_time_t deadline = 0;
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
        if (!deadline) {
            deadline = apr_time_now() + tmo;
        }
        if ((rv = sslcodes_wait(fd, deadline, &eof)) != APR_SUCCESS) {
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

/* The module's record of connection C, kept from here on: what its first
 * bytes were, and where a load balancer says the client connected. */
static sslcodes_conn *sslcodes_conn_new(conn_rec *c,
                                        sslcodes_conn_class_e first,
                                        const sslcodes_proxy_dst *dst)
{
    sslcodes_conn *cc = apr_pcalloc(c->pool, sizeof(*cc));

    cc->first = first;
    cc->verify_error = X509_V_OK;
    cc->proxy_port = (apr_port_t)dst->port;
    ap_set_module_config(c->conn_config, &sslcodes_module, cc);
    if (dst->port) {
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, "PROXY header: the "
                      "client connected to port %u", dst->port);
    }
    return cc;
}

int sslcodes_pre_connection(conn_rec *c, void *csd)
{
    sslcodes_srv_conf *sc = sslcodes_srv(c->base_server);
    sslcodes_first_e first = SSLCODES_FIRST_UNKNOWN;
    sslcodes_proxy_dst dst = { 0 };
    apr_status_t rv;

    if (!sc->classify || c->master || c->outgoing) {
        return DECLINED;
    }
    rv = sslcodes_peek(csd, sc->peek_timeout, &first, &dst);
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
        /* TLS behind a load balancer: remember where the client went. */
        if (rv == APR_SUCCESS && first == SSLCODES_FIRST_TLS && dst.port) {
            sslcodes_conn_new(c, SSLCODES_CONN_TLS, &dst);
        }
        return DECLINED;
    }

    sslcodes_conn_new(c, SSLCODES_CONN_PLAIN, &dst);
    sslcodes_ssl_stand_down(c);
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c,
                  "first bytes are plain text: mod_ssl stands down");
    return DECLINED;
}

sslcodes_conn *sslcodes_conn_get(conn_rec *c)
{
    /* HTTP/2 streams run on secondary connections; the state is the
     * real connection's. */
    if (c->master) {
        c = c->master;
    }
    return ap_get_module_config(c->conn_config, &sslcodes_module);
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
