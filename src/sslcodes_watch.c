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
 * sslcodes_watch.c: 499 while a request waits on a backend.
 *
 * mod_proxy (every scheme) and mod_cgid block the worker on the backend
 * and do not look at the client meanwhile.  With SSLCodesClientClosed on,
 * a request whose handler waits on a backend is put on a watch list until
 * its answer starts.  One thread per child process
 * (sslcodes_watch_thread.c) watches every listed client:
 *
 *   HTTP/1.x  the connection's socket, for a reset, a close or a
 *             half-close (epoll with EPOLLRDHUP: a pipelined request the
 *             client sends meanwhile does not wake it);
 *   HTTP/2    the stream's connection, which mod_http2 marks aborted when
 *             the stream is reset or the connection goes (looked at every
 *             SSLCODES_WATCH_TICK_MS).
 *
 * When a client leaves, the thread shuts down the backend connection the
 * request waits on: mod_proxy_http's and mod_proxy_uwsgi's, handed over by
 * mod_proxy's create_req hook (sslcodes_watch_backend()), or else the
 * outgoing socket that the request's worker is blocked on, as Linux shows
 * it where the child may read it (sslcodes_blocked.c):
 * the backend sees its connection close (a CGI under mod_cgid sees its
 * stdin and stdout close), the worker's read returns at once, and the
 * handler's error answer is turned into a silent 499 by SSLCODES_DROP
 * (sslcodes_limits.c).  The list's lock holds the request meanwhile: a
 * request leaves the list, under the lock, before its pool goes, and it
 * is done with once its answer starts or is complete.
 *
 * A worker that is busy, or waits on no socket (a lock, mod_cgi's pipes),
 * is asked again later, less often as time goes on, until its request
 * ends.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"

#include "mpm_common.h"

#include "apr_portable.h"
#include "apr_ring.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

#ifdef SSLCODES_HAVE_WATCH

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sslcodes_watch.h"

sslcodes_watch_state sslcodes_w;

/* --- The list ------------------------------------------------------------ */

/*
 * The list's lock, as a worker takes it.  Under prefork, stopping a child
 * runs its pool cleanups (and so sslcodes_watch_cleanup()) from a signal
 * handler: signals wait while the worker holds the lock, or the handler
 * would wait for it forever.  The watch thread takes no signal at all.
 */
static void sslcodes_watch_lock(sigset_t *old)
{
    sigset_t stop;

    if (sslcodes_w.unthreaded) {
        /* The signals that stop or restart a prefork child. */
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGHUP);
        sigaddset(&stop, AP_SIG_GRACEFUL);
        sigaddset(&stop, AP_SIG_GRACEFUL_STOP);
        pthread_sigmask(SIG_BLOCK, &stop, old);
    }
    apr_thread_mutex_lock(sslcodes_w.lock);
}

static void sslcodes_watch_unlock(const sigset_t *old)
{
    apr_thread_mutex_unlock(sslcodes_w.lock);
    if (sslcodes_w.unthreaded) {
        pthread_sigmask(SIG_SETMASK, old, NULL);
    }
}

static sslcodes_watch *sslcodes_watch_find_conn(const conn_rec *c)
{
    sslcodes_watch *w;

    APR_RING_FOREACH(w, &sslcodes_w.list, sslcodes_watch, link) {
        if (w->c == c) {
            return w;
        }
    }
    return NULL;
}

sslcodes_watch *sslcodes_watch_find_id(apr_uint64_t id)
{
    sslcodes_watch *w;

    APR_RING_FOREACH(w, &sslcodes_w.list, sslcodes_watch, link) {
        if (w->id == id) {
            return w;
        }
    }
    return NULL;
}

/* Does W need the thread's tick?  A stream is seen only that way, and a
 * client that left is waited for until its worker waits on a socket. */
int sslcodes_watch_ticks(const sslcodes_watch *w)
{
    return !w->done && (w->c->master || w->gone);
}

void sslcodes_watch_wake(void)
{
    uint64_t one = 1;

    if (write(sslcodes_w.wake, &one, sizeof(one)) < 0) {
        /* The counter is full: the thread is woken already. */
    }
}

/* Is the client socket of W still the one it was?  A closed connection's
 * number may have gone to another, watched in its turn. */
static int sslcodes_watch_same_client(const sslcodes_watch *w)
{
    struct stat st;

    return fstat(w->client_fd, &st) == 0 && st.st_dev == w->client_dev
        && st.st_ino == w->client_ino;
}

static apr_status_t sslcodes_watch_backend_gone(void *data);

/* W no longer has a backend connection to shut. */
static void sslcodes_watch_drop_backend(sslcodes_watch *w)
{
    if (w->backend >= 0) {
        apr_pool_cleanup_kill(w->backend_pool, w, sslcodes_watch_backend_gone);
        close(w->backend);
        w->backend = -1;
    }
}

static void sslcodes_watch_remove(sslcodes_watch *w)
{
    if (!w->c->master && sslcodes_watch_same_client(w)) {
        epoll_ctl(sslcodes_w.epfd, EPOLL_CTL_DEL, w->client_fd, NULL);
    }
    sslcodes_watch_drop_backend(w);
    APR_RING_REMOVE(w, link);
}

static apr_status_t sslcodes_watch_cleanup(void *data)
{
    sigset_t old;

    sslcodes_watch_lock(&old);
    sslcodes_watch_remove(data);
    sslcodes_watch_unlock(&old);
    return APR_SUCCESS;
}

/* The client socket of C (its master's, for an HTTP/2 stream). */
static int sslcodes_watch_client_fd(conn_rec *c)
{
    apr_socket_t *sock = ap_get_conn_socket(c->master ? c->master : c);
    apr_os_sock_t fd;

    if (!sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) {
        return -1;
    }
    return fd;
}

static void sslcodes_watch_add(request_rec *r, sslcodes_watch *w)
{
    struct epoll_event ev;

    w->id = ++sslcodes_w.next_id;
    if (!r->connection->master) {
        ev.events = EPOLLRDHUP | EPOLLONESHOT;
        ev.data.u64 = w->id;
        if (epoll_ctl(sslcodes_w.epfd, EPOLL_CTL_ADD, w->client_fd, &ev)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, errno, r,
                          SSLCODES_LOGNO(0205) "cannot watch the client "
                          "while the backend answers");
            return;
        }
    }
    APR_RING_INSERT_TAIL(&sslcodes_w.list, w, sslcodes_watch, link);
    apr_pool_cleanup_register(r->pool, w, sslcodes_watch_cleanup,
                              apr_pool_cleanup_null);
    if (r->connection->master) {
        /* The thread may wait with no tick. */
        sslcodes_watch_wake();
    }
}

/* A connection's earlier request whose answer is complete, but whose pool
 * lives on (its end is still being written, or a pipelined request comes
 * first): it makes way. */
static void sslcodes_watch_replace(sslcodes_watch *old)
{
    sslcodes_watch_remove(old);
    apr_pool_cleanup_kill(old->pool, old, sslcodes_watch_cleanup);
}

/* R's handler is about to wait on a backend: watch its client until the
 * answer is complete, or the request ends.  An internal redirect shares
 * its first request's pool, and its watch. */
void sslcodes_watch_request(request_rec *r)
{
    sslcodes_watch *w, *old;
    struct stat st;
    sigset_t mask;
    int fd;

    if (!sslcodes_w.thread
        || (fd = sslcodes_watch_client_fd(r->connection)) < 0
        || fstat(fd, &st) != 0) {
        return;
    }
    sslcodes_watch_lock(&mask);
    old = sslcodes_watch_find_conn(r->connection);
    if (old && old->pool != r->pool) {
        sslcodes_watch_replace(old);
        old = NULL;
    }
    if (!old) {
        w = apr_pcalloc(r->pool, sizeof(*w));
        w->pool = r->pool;
        w->c = r->connection;
        w->s = r->server;
        w->client_fd = fd;
        w->client_dev = st.st_dev;
        w->client_ino = st.st_ino;
        w->tid = (pid_t)syscall(SYS_gettid);
        w->backend = -1;
        sslcodes_watch_add(r, w);
    }
    sslcodes_watch_unlock(&mask);
}

/* The backend request of W went: mod_proxy releases its connection right
 * after (to its pool, where another request may take it, or closed). */
static apr_status_t sslcodes_watch_backend_gone(void *data)
{
    sslcodes_watch *w = data;
    sigset_t mask;

    sslcodes_watch_lock(&mask);
    if (w->backend >= 0) {
        close(w->backend);
        w->backend = -1;
    }
    sslcodes_watch_unlock(&mask);
    return APR_SUCCESS;
}

/*
 * mod_proxy_http and mod_proxy_uwsgi make a request for the backend's
 * answer on their backend connection (proxy's create_req hook) before
 * they wait for it: that connection's socket is the one to shut if R's
 * client leaves.  A duplicate is kept, until that backend request's pool
 * goes (mod_proxy_http destroys it as it releases the connection), or R
 * ends: so the socket shut is never one another request has since taken.
 */
int sslcodes_watch_backend(request_rec *r, request_rec *backend)
{
    apr_socket_t *sock = ap_get_conn_socket(backend->connection);
    sslcodes_watch *w;
    apr_os_sock_t fd;
    sigset_t mask;
    int held;

    if (!sslcodes_w.thread || !sock
        || apr_os_sock_get(&fd, sock) != APR_SUCCESS) {
        return DECLINED;
    }
    sslcodes_watch_lock(&mask);
    w = sslcodes_watch_find_conn(r->connection);
    if (w && !w->done && w->pool == r->pool
        && (held = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0) {
        sslcodes_watch_drop_backend(w);
        w->backend = held;
        w->backend_shut = 0;
        w->backend_pool = backend->pool;
        apr_pool_cleanup_register(backend->pool, w,
                                  sslcodes_watch_backend_gone,
                                  apr_pool_cleanup_null);
    }
    sslcodes_watch_unlock(&mask);
    return DECLINED;
}

/* R's answer starts, unless its client left: the watch's word, or GONE
 * (what the socket says now).  Once it starts, what the client does is
 * core's business.  Returns whether the client left. */
int sslcodes_watch_answer(request_rec *r, int gone)
{
    sslcodes_watch *w;
    sigset_t mask;

    if (!sslcodes_w.thread) {
        return gone;
    }
    sslcodes_watch_lock(&mask);
    if ((w = sslcodes_watch_find_conn(r->connection)) != NULL) {
        gone = gone || w->gone;
        w->gone = gone;
        w->done = w->done || !gone;
    }
    sslcodes_watch_unlock(&mask);
    return gone;
}

/* R's answer is complete: the worker is no longer the request's. */
void sslcodes_watch_end(request_rec *r)
{
    sslcodes_watch *w;
    sigset_t mask;

    if (!sslcodes_w.thread) {
        return;
    }
    sslcodes_watch_lock(&mask);
    if ((w = sslcodes_watch_find_conn(r->connection)) != NULL) {
        w->done = 1;
    }
    sslcodes_watch_unlock(&mask);
}

/* Did the watch see R's client leave? */
int sslcodes_watch_saw_leave(request_rec *r)
{
    sslcodes_watch *w;
    sigset_t mask;
    int gone = 0;

    if (!sslcodes_w.thread) {
        return 0;
    }
    sslcodes_watch_lock(&mask);
    if ((w = sslcodes_watch_find_conn(r->connection)) != NULL) {
        gone = w->gone;
    }
    sslcodes_watch_unlock(&mask);
    return gone;
}

#else /* !SSLCODES_HAVE_WATCH: 499 is decided when the answer is written */

void sslcodes_watch_request(request_rec *r)
{
    (void)r;
}

int sslcodes_watch_answer(request_rec *r, int gone)
{
    (void)r;
    return gone;
}

void sslcodes_watch_end(request_rec *r)
{
    (void)r;
}

int sslcodes_watch_saw_leave(request_rec *r)
{
    (void)r;
    return 0;
}

int sslcodes_watch_backend(request_rec *r, request_rec *backend)
{
    (void)r;
    (void)backend;
    return DECLINED;
}

#endif /* SSLCODES_HAVE_WATCH */

