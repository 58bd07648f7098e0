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
 * When a client leaves, the thread asks Linux what the request's worker
 * is blocked on (/proc/self/task/TID/syscall) and, if that is a socket
 * other than the client's, shuts it down: the backend sees its connection
 * close (a CGI under mod_cgid sees its stdin and stdout close), the
 * worker's read returns at once, and the handler's error answer is turned
 * into a silent 499 by SSLCODES_DROP (sslcodes_limits.c).
 *
 * Nothing is guessed.  The list's lock holds the request: a request
 * leaves the list, under the lock, before its pool goes.  The descriptor
 * is duplicated, and the duplicate is used only if the worker is still in
 * the same system call (number, arguments, stack and program counter) once
 * it is held: so what is shut is the socket the worker waits on, never a
 * number reused since.  A worker that is busy, or waits on something else
 * (a pipe, a lock), is asked again at the next tick until it waits on a
 * socket or its request ends.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"

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
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* How often HTTP/2 streams, and workers not yet waiting, are looked at. */
#define SSLCODES_WATCH_TICK_MS 20
/* The most descriptors of one poll() that are looked through. */
#define SSLCODES_WATCH_POLLFDS 8

typedef struct sslcodes_watch sslcodes_watch;
struct sslcodes_watch {
    APR_RING_ENTRY(sslcodes_watch) link;
    apr_uint64_t id;                  /* epoll's key: never reused        */
    conn_rec *c;                      /* the request's (a stream's: h2)   */
    server_rec *s;                    /* for the debug line               */
    int client_fd;                    /* the client's socket              */
    pid_t tid;                        /* the worker that waits            */
    int gone;                         /* the client left                  */
    int done;                         /* the backend was shut, or given up */
};
APR_RING_HEAD(sslcodes_watch_ring, sslcodes_watch);

/* The watch of a child process.  Written by workers and the thread under
 * the lock; the thread's handle and descriptors are set once. */
static struct {
    apr_thread_mutex_t *lock;
    struct sslcodes_watch_ring list;
    apr_thread_t *thread;
    int epfd;
    int wake;                         /* eventfd: a stream, or stop       */
    int stop;
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

int sslcodes_watch_available(void)
{
#ifdef SSLCODES_HAVE_WATCH
    return 1;
#else
    return 0;
#endif
}

/*
 * A request waits on a backend when its handler is mod_proxy's (every
 * scheme, balancers, SetHandler "proxy:...") or a CGI's (mod_cgid, or
 * mod_cgi).  Other handlers are left alone: a static file, or a handler
 * that waits on a database pool, is served as stock serves it.
 */
int sslcodes_backend_handler(const request_rec *r)
{
    const char *h = r->handler;

    if (!h) {
        return 0;
    }
    return strcmp(h, "proxy-server") == 0
        || strncmp(h, "proxy:", 6) == 0
        || strcmp(h, "cgi-script") == 0
        || strcmp(h, CGI_MAGIC_TYPE) == 0;
}

#ifdef SSLCODES_HAVE_WATCH

/* --- What a worker waits on ---------------------------------------------- */

/* The system call thread TID is in: its line of /proc, into BUF. */
static int sslcodes_syscall_line(pid_t tid, char *buf, apr_size_t len)
{
    char path[64];
    ssize_t n;
    int fd;

    apr_snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return 0;
    }
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    return 1;
}

/* The one descriptor of a poll() array, at ADDR in this process, that is
 * not the client's; -1 if none, or more than one. */
static int sslcodes_poll_target(unsigned long addr, unsigned long nfds,
                                int client_fd)
{
    struct pollfd pfd[SSLCODES_WATCH_POLLFDS];
    struct iovec local, remote;
    unsigned long i;
    int fd = -1;

    if (nfds == 0 || nfds > SSLCODES_WATCH_POLLFDS) {
        return -1;
    }
    /* Read as a debugger would: an address that is no longer mapped is
     * an error here, not a crash. */
    local.iov_base = pfd;
    local.iov_len = nfds * sizeof(pfd[0]);
    remote.iov_base = (void *)addr;
    remote.iov_len = local.iov_len;
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0)
        != (ssize_t)local.iov_len) {
        return -1;
    }
    for (i = 0; i < nfds; i++) {
        if (pfd[i].fd < 0 || pfd[i].fd == client_fd || pfd[i].fd == fd) {
            continue;
        }
        if (fd >= 0) {
            return -1;
        }
        fd = pfd[i].fd;
    }
    return fd;
}

/* The descriptor that the system call of LINE waits on; -1 if it waits on
 * none the module knows (or is not in a system call at all). */
static int sslcodes_waited_fd(const char *line, int client_fd)
{
    unsigned long a[2];
    char *end;
    long nr;

    nr = strtol(line, &end, 10);
    if (end == line || nr < 0) {
        return -1;
    }
    a[0] = strtoul(end, &end, 16);
    a[1] = strtoul(end, &end, 16);
    switch (nr) {
#ifdef SYS_poll
    case SYS_poll:
#endif
    case SYS_ppoll:
        return sslcodes_poll_target(a[0], a[1], client_fd);
#ifdef SYS_read
    case SYS_read:
#endif
    case SYS_readv:
    case SYS_recvfrom:
    case SYS_recvmsg:
    case SYS_write:
    case SYS_writev:
    case SYS_sendto:
    case SYS_sendmsg:
    case SYS_connect:
        return (int)a[0] == client_fd ? -1 : (int)a[0];
    default:
        return -1;
    }
}

/* Is FD a socket, and not the client's? */
static int sslcodes_backend_socket(int fd, int client_fd)
{
    struct stat st, cst;

    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return 0;
    }
    return client_fd < 0 || fstat(client_fd, &cst) != 0
        || st.st_ino != cst.st_ino || st.st_dev != cst.st_dev;
}

/*
 * Shut down what W's worker waits on.  Returns 1 once it is shut, 0 to
 * ask again at the next tick (the worker is busy, or waits on the client
 * itself or on something that is no socket).
 */
static int sslcodes_watch_abort(sslcodes_watch *w)
{
    char before[256], after[256];
    int fd, held;

    if (!sslcodes_syscall_line(w->tid, before, sizeof(before))) {
        return 0;
    }
    if ((fd = sslcodes_waited_fd(before, w->client_fd)) < 0) {
        return 0;
    }
    if ((held = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        return 0;
    }
    if (!sslcodes_syscall_line(w->tid, after, sizeof(after))
        || strcmp(before, after) != 0
        || !sslcodes_backend_socket(held, w->client_fd)) {
        close(held);
        return 0;
    }
    shutdown(held, SHUT_RDWR);
    close(held);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, w->s, SSLCODES_LOGNO(0204)
                 "client %s left: shut down the backend connection its "
                 "request waited on (descriptor %d, system call %ld)",
                 w->c->client_ip, fd, strtol(before, NULL, 10));
    return 1;
}

/* --- The list ------------------------------------------------------------ */

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

static void sslcodes_watch_remove(sslcodes_watch *w)
{
    if (!w->c->master) {
        epoll_ctl(sslcodes_w.epfd, EPOLL_CTL_DEL, w->client_fd, NULL);
    }
    APR_RING_REMOVE(w, link);
}

static apr_status_t sslcodes_watch_cleanup(void *data)
{
    apr_thread_mutex_lock(sslcodes_w.lock);
    sslcodes_watch_remove(data);
    apr_thread_mutex_unlock(sslcodes_w.lock);
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
    if (r->connection->master) {
        /* The thread may wait with no tick. */
        sslcodes_watch_wake();
    }
    apr_pool_cleanup_register(r->pool, w, sslcodes_watch_cleanup,
                              apr_pool_cleanup_null);
}

/* R's handler is about to wait on a backend: watch its client until the
 * answer starts, or the request ends.  Once per connection at a time: an
 * internal redirect shares its first request's pool, and its watch. */
void sslcodes_watch_request(request_rec *r)
{
    sslcodes_watch *w;
    int fd;

    if (!sslcodes_w.thread || (fd = sslcodes_watch_client_fd(r->connection)) < 0) {
        return;
    }
    apr_thread_mutex_lock(sslcodes_w.lock);
    if (!sslcodes_watch_find_conn(r->connection)) {
        w = apr_pcalloc(r->pool, sizeof(*w));
        w->c = r->connection;
        w->s = r->server;
        w->client_fd = fd;
        w->tid = (pid_t)syscall(SYS_gettid);
        sslcodes_watch_add(r, w);
    }
    apr_thread_mutex_unlock(sslcodes_w.lock);
}

/* The answer starts: what the client does now is core's business. */
void sslcodes_watch_end(request_rec *r)
{
    sslcodes_watch *w;

    if (!sslcodes_w.thread) {
        return;
    }
    apr_thread_mutex_lock(sslcodes_w.lock);
    if ((w = sslcodes_watch_find_conn(r->connection)) != NULL) {
        w->done = 1;
    }
    apr_thread_mutex_unlock(sslcodes_w.lock);
}

/* Did the watch see R's client leave? */
int sslcodes_watch_saw_leave(request_rec *r)
{
    sslcodes_watch *w;
    int gone = 0;

    if (!sslcodes_w.thread) {
        return 0;
    }
    apr_thread_mutex_lock(sslcodes_w.lock);
    if ((w = sslcodes_watch_find_conn(r->connection)) != NULL) {
        gone = w->gone;
    }
    apr_thread_mutex_unlock(sslcodes_w.lock);
    return gone;
}

/* --- The thread ---------------------------------------------------------- */

static void sslcodes_watch_left(sslcodes_watch *w)
{
    if (w) {
        w->gone = 1;
    }
}

/* Look at every entry: streams reset, and workers to abort.  Returns
 * whether any needs the next tick.  mod_http2 sets a stream's c->aborted
 * from its own threads; it is only read here, and a stale read is
 * corrected at the next tick. */
static int sslcodes_watch_sweep(void)
{
    sslcodes_watch *w;
    int tick = 0;

    APR_RING_FOREACH(w, &sslcodes_w.list, sslcodes_watch, link) {
        if (w->c->master && w->c->aborted) {
            sslcodes_watch_left(w);
        }
        if (w->gone && !w->done && sslcodes_watch_abort(w)) {
            w->done = 1;
        }
        tick |= sslcodes_watch_ticks(w);
    }
    return tick;
}

static void *APR_THREAD_FUNC sslcodes_watch_main(apr_thread_t *t, void *arg)
{
    struct epoll_event ev[16];
    uint64_t count;
    int n, i, timeout = -1;

    (void)arg;
    for (;;) {
        n = epoll_wait(sslcodes_w.epfd, ev, 16, timeout);
        apr_thread_mutex_lock(sslcodes_w.lock);
        if (sslcodes_w.stop) {
            apr_thread_mutex_unlock(sslcodes_w.lock);
            break;
        }
        for (i = 0; i < n; i++) {
            if (ev[i].data.u64 == 0) {
                if (read(sslcodes_w.wake, &count, sizeof(count)) < 0) {
                    /* Nothing to read: woken already. */
                }
            }
            else {
                sslcodes_watch_left(sslcodes_watch_find_id(ev[i].data.u64));
            }
        }
        timeout = sslcodes_watch_sweep() ? SSLCODES_WATCH_TICK_MS : -1;
        apr_thread_mutex_unlock(sslcodes_w.lock);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static apr_status_t sslcodes_watch_stop(void *data)
{
    apr_status_t rv;

    (void)data;
    apr_thread_mutex_lock(sslcodes_w.lock);
    sslcodes_w.stop = 1;
    apr_thread_mutex_unlock(sslcodes_w.lock);
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

    rv = apr_thread_mutex_create(&sslcodes_w.lock, APR_THREAD_MUTEX_DEFAULT,
                                 pchild);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    APR_RING_INIT(&sslcodes_w.list, sslcodes_watch, link);
    sslcodes_w.stop = 0;
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
