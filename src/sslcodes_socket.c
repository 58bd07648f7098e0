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
 * sslcodes_socket.c: waiting on a socket, with a deadline and without
 * spinning, and asking whether a client has gone.  Shared by the
 * first-bytes peek (sslcodes_conn.c), the OCSP client
 * (sslcodes_ocsp_http.c) and 499 (sslcodes_limits.c); it calls none of
 * them.
 */

#include <errno.h>
#include <poll.h>

#include "httpd.h"
#include "http_connection.h"
#include "http_core.h"

#include "apr_portable.h"

#include "sslcodes_private.h"

/* Linux tells a half-closed peer apart; elsewhere a hang-up has to do. */
#ifdef POLLRDHUP
#define SSLCODES_POLL_EOF (POLLRDHUP | POLLHUP | POLLERR)
#else
#define SSLCODES_POLL_EOF (POLLHUP | POLLERR)
#endif

apr_status_t sslcodes_poll_until(int fd, short events, apr_time_t deadline,
                                 short *revents)
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
        pfd.events = events;
        pfd.revents = 0;
        rc = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (rc > 0) {
            if (revents) {
                *revents = pfd.revents;
            }
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

apr_status_t sslcodes_poll_readable(int fd, apr_time_t deadline, int *eof)
{
    short revents = 0;
    apr_status_t rv = sslcodes_poll_until(fd, POLLIN | SSLCODES_POLL_EOF,
                                          deadline, &revents);

    if (rv == APR_SUCCESS) {
        *eof = (revents & SSLCODES_POLL_EOF) != 0;
    }
    return rv;
}

int sslcodes_client_gone(conn_rec *c)
{
    apr_socket_t *sock;
    apr_os_sock_t fd;
    struct pollfd pfd;

    if (c->aborted) {
        return 1;
    }
    if (c->master) {
        return 0;
    }
    sock = ap_get_conn_socket(c);
    if (!sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) {
        return 0;
    }
    pfd.fd = fd;
    pfd.events = SSLCODES_POLL_EOF;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & SSLCODES_POLL_EOF);
}
