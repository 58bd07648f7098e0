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
 * its answer starts.  One thread per child process watches every listed
 * client:
 *
 *   HTTP/1.x  the connection's socket, for a reset, a close or a
 *             half-close (epoll with EPOLLRDHUP: a pipelined request the
 *             client sends meanwhile does not wake it);
 *   HTTP/2    the stream's connection, which mod_http2 marks aborted when
 *             the stream is reset or the connection goes (looked at every
 *             SSLCODES_WATCH_TICK_MS).
 *
 * When a client leaves, the thread finds the outgoing socket that the
 * request's worker is blocked on, and shuts it down (sslcodes_blocked.c):
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

#include "ap_mpm.h"

#include "apr_atomic.h"
#include "apr_portable.h"
#include "apr_ring.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

#if defined(__linux__) && APR_HAS_THREADS
#define SSLCODES_HAVE_WATCH 1

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How often HTTP/2 streams, and workers not yet waiting, are looked at. */
#define SSLCODES_WATCH_TICK_MS 20

typedef struct sslcodes_watch sslcodes_watch;
struct sslcodes_watch {
    APR_RING_ENTRY(sslcodes_watch) link;
    apr_uint64_t id;                  /* epoll's key: never reused        */
    apr_pool_t *pool;                 /* the request's, with the cleanup  */
    conn_rec *c;                      /* the request's (a stream's: h2)   */
    server_rec *s;                    /* for the debug line               */
    int client_fd;                    /* the client's socket, and ...     */
    dev_t client_dev;                 /* ... what it is, to tell it from  */
    ino_t client_ino;                 /*     a number reused since        */
    pid_t tid;                        /* the worker that waits            */
    int gone;                         /* the client left                  */
    int done;                         /* answered, shut, or given up      */
    int tries;                        /* attempts to find a socket        */
    apr_time_t next_try;
};
APR_RING_HEAD(sslcodes_watch_ring, sslcodes_watch);

/* The watch of a child process.  The list is the lock's; the thread's
 * handle and descriptors are set once, before it starts. */
static struct {
    apr_thread_mutex_t *lock;
    struct sslcodes_watch_ring list;
    apr_thread_t *thread;
    int epfd;
    int wake;                         /* eventfd: a stream, or stop       */
    volatile apr_uint32_t stop;
    int unthreaded;                   /* prefork: see sslcodes_watch_lock */
    apr_uint64_t next_id;
} sslcodes_w;

/* Is SSLCodesClientClosed on anywhere?  Set while the configuration is
 * read, in the parent; the children start a watch only then. */
static int sslcodes_watch_wanted;
#endif /* __linux__ && APR_HAS_THREADS */

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

/* --- The list ------------------------------------------------------------ */

/*
 * The list's lock, as a worker takes it.  Under prefork, stopping a child
 * runs its pool cleanups (and so sslcodes_watch_cleanup()) from a signal
 * handler: signals wait while the worker holds the lock, or the handler
 * would wait for it forever.  The watch thread takes no signal at all.
 */
static void sslcodes_watch_lock(sigset_t *old)
{
    sigset_t all;

    if (sslcodes_w.unthreaded) {
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, old);
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

static sslcodes_watch *sslcodes_watch_find_id(apr_uint64_t id)
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
static int sslcodes_watch_ticks(const sslcodes_watch *w)
{
    return !w->done && (w->c->master || w->gone);
}

static void sslcodes_watch_wake(void)
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

static void sslcodes_watch_remove(sslcodes_watch *w)
{
    if (!w->c->master && sslcodes_watch_same_client(w)) {
        epoll_ctl(sslcodes_w.epfd, EPOLL_CTL_DEL, w->client_fd, NULL);
    }
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
    if (old && old->done) {
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
        sslcodes_watch_add(r, w);
    }
    sslcodes_watch_unlock(&mask);
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
    int fd;
} sslcodes_watch_shut;

#define SSLCODES_WATCH_SHUTS 16

static void sslcodes_watch_try(sslcodes_watch *w, apr_time_t now,
                               sslcodes_watch_shut *shut, int *nshut)
{
    int fd;

    if (now < w->next_try) {
        return;
    }
    if ((fd = sslcodes_blocked_shut(w->tid, w->client_fd, w->client_dev,
                                    w->client_ino)) < 0) {
        w->tries++;
        w->next_try = now + apr_time_from_msec(
            w->tries < 1000 / SSLCODES_WATCH_TICK_MS ? 0
                                                     : SSLCODES_WATCH_SLOW_MS);
        return;
    }
    w->done = 1;
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
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, shut[i].s,
                         SSLCODES_LOGNO(0204) "client %s left: shut down "
                         "the backend connection its request waited on "
                         "(descriptor %d)", shut[i].client, shut[i].fd);
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
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
    apr_thread_join(&rv, sslcodes_w.thread);
    sslcodes_w.thread = NULL;
    close(sslcodes_w.epfd);
    close(sslcodes_w.wake);
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
    /* Before pchild's subpools go, the thread's own among them. */
    apr_pool_pre_cleanup_register(pchild, NULL, sslcodes_watch_stop);
#else
    (void)pchild;
    (void)s;
#endif
}
