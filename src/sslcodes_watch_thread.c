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
 * sslcodes_watch_thread.c: the thread of the 499 watch, one per child
 * process (see sslcodes_watch.c): it waits for clients that leave, and
 * has what their requests wait on shut down.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "ap_mpm.h"

#include "apr_atomic.h"
#include "apr_strings.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

#ifdef SSLCODES_HAVE_WATCH

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sslcodes_watch.h"

/* Is SSLCodesClientClosed on anywhere?  Set while the configuration is
 * read, in the parent; the children start a watch only then. */
static int sslcodes_watch_wanted;
#endif /* SSLCODES_HAVE_WATCH */

void sslcodes_watch_in_use(void)
{
#ifdef SSLCODES_HAVE_WATCH
    sslcodes_watch_wanted = 1;
#endif
}

void sslcodes_watch_pre_config(void)
{
#ifdef SSLCODES_HAVE_WATCH
    sslcodes_watch_wanted = 0;
#endif
}

#ifdef SSLCODES_HAVE_WATCH

/* --- The thread ---------------------------------------------------------- */

/* A worker that waits on no socket yet is asked every tick for its first
 * second, then every SSLCODES_WATCH_SLOW_MS (mod_cgi, for one, never
 * does). */
#define SSLCODES_WATCH_SLOW_MS 500

/* What the debug line says of a shut socket, written once the lock is
 * given back. */
typedef struct {
    server_rec *s;
    char client[64];
    int fd;                           /* the worker's descriptor, or -1   */
} sslcodes_watch_shut;

#define SSLCODES_WATCH_SHUTS 16

/*
 * W's client left: shut down what its request waits on.  The entry stays
 * watched until the answer starts or ends (a handler may connect again:
 * a balancer's next member); a socket is shut once.
 */
static void sslcodes_watch_try(sslcodes_watch *w, apr_time_t now,
                               sslcodes_watch_shut *shut, int *nshut)
{
    int fd = -1;

    if (w->backend >= 0) {
        if (w->backend_shut) {
            return;
        }
        shutdown(w->backend, SHUT_RDWR);
        w->backend_shut = 1;
    }
    else if (now < w->next_try || !sslcodes_w.proc
             || (fd = sslcodes_blocked_shut(w->tid, w->client_fd,
                                            w->client_dev,
                                            w->client_ino)) < 0) {
        /* Nothing held, and no socket waited on yet: ask again soon,
         * then less often. */
        if (now >= w->next_try) {
            w->tries++;
            w->next_try = now + apr_time_from_msec(
                w->tries < 1000 / SSLCODES_WATCH_TICK_MS
                ? 0 : SSLCODES_WATCH_SLOW_MS);
        }
        return;
    }
    else {
        /* The same socket is not found again before it is closed. */
        w->next_try = now + apr_time_from_msec(SSLCODES_WATCH_SLOW_MS);
    }
    if (*nshut < SSLCODES_WATCH_SHUTS) {
        shut[*nshut].s = w->s;
        shut[*nshut].fd = fd;
        apr_cpystrn(shut[*nshut].client, w->c->client_ip,
                    sizeof(shut[*nshut].client));
        (*nshut)++;
    }
}

/* Look at every entry: streams reset, and workers to abort.  Returns
 * whether any needs the next tick.  mod_http2 sets a stream's c->aborted
 * from its own threads; it is only read here, and a stale read is
 * corrected at the next tick. */
static int sslcodes_watch_sweep(sslcodes_watch_shut *shut, int *nshut)
{
    sslcodes_watch *w;
    apr_time_t now = apr_time_now();
    int tick = 0;

    APR_RING_FOREACH(w, &sslcodes_w.list, sslcodes_watch, link) {
        if (w->c->master && w->c->aborted) {
            w->gone = 1;
        }
        if (w->gone && !w->done) {
            sslcodes_watch_try(w, now, shut, nshut);
        }
        tick |= sslcodes_watch_ticks(w);
    }
    return tick;
}

static void sslcodes_watch_events(const struct epoll_event *ev, int n)
{
    sslcodes_watch *w;
    uint64_t count;
    int i;

    for (i = 0; i < n; i++) {
        if (ev[i].data.u64 == 0) {
            if (read(sslcodes_w.wake, &count, sizeof(count)) < 0) {
                /* Nothing to read: woken already. */
            }
        }
        else if ((w = sslcodes_watch_find_id(ev[i].data.u64)) != NULL) {
            w->gone = 1;
        }
    }
}

static void *APR_THREAD_FUNC sslcodes_watch_main(apr_thread_t *t, void *arg)
{
    struct epoll_event ev[16];
    sslcodes_watch_shut shut[SSLCODES_WATCH_SHUTS];
    int n, i, nshut, timeout = -1;

    (void)arg;
    for (;;) {
        n = epoll_wait(sslcodes_w.epfd, ev, 16, timeout);
        if (apr_atomic_read32(&sslcodes_w.stop)) {
            break;
        }
        nshut = 0;
        apr_thread_mutex_lock(sslcodes_w.lock);
        sslcodes_watch_events(ev, n);
        timeout = sslcodes_watch_sweep(shut, &nshut)
                  ? SSLCODES_WATCH_TICK_MS : -1;
        apr_thread_mutex_unlock(sslcodes_w.lock);
        for (i = 0; i < nshut; i++) {
            if (shut[i].fd < 0) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, shut[i].s,
                             SSLCODES_LOGNO(0204) "client %s left: shut "
                             "down its request's mod_proxy backend "
                             "connection", shut[i].client);
            }
            else {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, shut[i].s,
                             SSLCODES_LOGNO(0204) "client %s left: shut "
                             "down the socket its worker waited on "
                             "(descriptor %d)", shut[i].client, shut[i].fd);
            }
        }
    }
    /* Returns rather than apr_thread_exit(): the thread's pool is left to
     * pchild, which may be going away in a prefork signal handler. */
    (void)t;
    return NULL;
}

/* Without the lock: under prefork this runs in a signal handler (see
 * sslcodes_watch_lock()), and the thread leaves at its next wake. */
static apr_status_t sslcodes_watch_stop(void *data)
{
    apr_status_t rv;

    (void)data;
    apr_atomic_set32(&sslcodes_w.stop, 1);
    sslcodes_watch_wake();
    /* Prefork exits right after; a threaded MPM's child waits for it.
     * The descriptors stay open until the process ends: request pools,
     * cleaned after this, still take their entries off. */
    if (!sslcodes_w.unthreaded) {
        apr_thread_join(&rv, sslcodes_w.thread);
    }
    sslcodes_w.thread = NULL;
    return APR_SUCCESS;
}

/* The thread takes no signal: the MPM's go to its own threads. */
static apr_status_t sslcodes_watch_spawn(apr_pool_t *pchild)
{
    sigset_t all, old;
    apr_status_t rv;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = apr_thread_create(&sslcodes_w.thread, NULL, sslcodes_watch_main,
                           NULL, pchild);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rv;
}

static apr_status_t sslcodes_watch_open(apr_pool_t *pchild)
{
    struct epoll_event ev;
    apr_status_t rv;
    int threaded = 0;

    rv = apr_thread_mutex_create(&sslcodes_w.lock, APR_THREAD_MUTEX_DEFAULT,
                                 pchild);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    APR_RING_INIT(&sslcodes_w.list, sslcodes_watch, link);
    apr_atomic_set32(&sslcodes_w.stop, 0);
    ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded);
    sslcodes_w.unthreaded = threaded == AP_MPMQ_NOT_SUPPORTED;
    sslcodes_w.proc = sslcodes_blocked_readable();
    if ((sslcodes_w.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if ((sslcodes_w.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(sslcodes_w.epfd);
        return rv;
    }
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (epoll_ctl(sslcodes_w.epfd, EPOLL_CTL_ADD, sslcodes_w.wake, &ev)
        || (rv = sslcodes_watch_spawn(pchild)) != APR_SUCCESS) {
        rv = rv ? rv : APR_FROM_OS_ERROR(errno);
        close(sslcodes_w.epfd);
        close(sslcodes_w.wake);
        return rv;
    }
    return APR_SUCCESS;
}

#endif /* SSLCODES_HAVE_WATCH */

/* A child process starts: one watch thread, where SSLCodesClientClosed
 * is on anywhere.  Without it, 499 is still decided when the answer is
 * written. */
void sslcodes_watch_child_init(apr_pool_t *pchild, server_rec *s)
{
#ifdef SSLCODES_HAVE_WATCH
    apr_status_t rv;

    sslcodes_w.thread = NULL;
    if (!sslcodes_watch_wanted) {
        return;
    }
    if ((rv = sslcodes_watch_open(pchild)) != APR_SUCCESS) {
        sslcodes_w.thread = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, SSLCODES_LOGNO(0206)
                     "SSLCodesClientClosed: cannot start the thread that "
                     "watches clients; 499 is decided when the answer is "
                     "written");
        return;
    }
    if (!sslcodes_w.proc) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, SSLCODES_LOGNO(0207)
                     "SSLCodesClientClosed on: this child cannot read its "
                     "threads' system calls (it changed user); backends "
                     "other than mod_proxy_http and mod_proxy_uwsgi get "
                     "their 499 when the answer is written");
    }
    /* Before pchild's subpools go, the thread's own among them. */
    apr_pool_pre_cleanup_register(pchild, NULL, sslcodes_watch_stop);
#else
    (void)pchild;
    (void)s;
#endif
}
