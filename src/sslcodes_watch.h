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
 * sslcodes_watch.h: what sslcodes_watch.c (the list, and the requests'
 * side) and sslcodes_watch_thread.c (the thread) share.  Linux only.
 */

#ifndef SSLCODES_WATCH_H
#define SSLCODES_WATCH_H

#include "apr_ring.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"

#include <sys/types.h>

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
    int backend;                      /* mod_proxy's socket (a duplicate) */
    apr_pool_t *backend_pool;         /* ... until this pool goes, or -1  */
    int backend_shut;                 /* ... and it was shut              */
    int gone;                         /* the client left                  */
    int done;                         /* its answer started, or ended     */
    int tries;                        /* attempts to find a socket        */
    apr_time_t next_try;
};
APR_RING_HEAD(sslcodes_watch_ring, sslcodes_watch);

/* The watch of a child process.  The list is the lock's; the thread's
 * handle and descriptors are set once, before it starts. */
typedef struct {
    apr_thread_mutex_t *lock;
    struct sslcodes_watch_ring list;
    apr_thread_t *thread;
    int epfd;
    int wake;                         /* eventfd: a stream, or stop       */
    volatile apr_uint32_t stop;
    int unthreaded;                   /* prefork: see sslcodes_watch_lock */
    int proc;                         /* /proc/self/task/TID/syscall reads */
    apr_uint64_t next_id;
} sslcodes_watch_state;

#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility push(hidden)
#endif
extern sslcodes_watch_state sslcodes_w;
sslcodes_watch *sslcodes_watch_find_id(apr_uint64_t id);
int sslcodes_watch_ticks(const sslcodes_watch *w);
void sslcodes_watch_wake(void);
#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility pop
#endif

#endif /* SSLCODES_WATCH_H */
