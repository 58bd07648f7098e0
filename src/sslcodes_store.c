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
 * sslcodes_store.c: a socache on the network (memcache, redis) asked
 * with a deadline, so that a stalled store never holds a worker.
 *
 * httpd's memcache provider sets no timeout on its reads: a memcached that
 * accepts and never answers (a paused VM, a full box) blocks the caller
 * until it answers, and the lookup runs inside a TLS handshake.  So each
 * child asks such a store from threads of its own: the worker that wants
 * an answer queues the question and waits at most SSLCODES_STORE_WAIT.
 * Past that, or when every slot is taken by questions a stalled store has
 * not answered, the lookup counts as a miss and the caller goes on (it
 * asks the OCSP responder).  Writes are queued and never waited for.
 * The threads that are stuck stay stuck until the store answers or the
 * child exits; they hold no lock and no worker.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_socache.h"

#include "ap_mpm.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"
#include "apr_thread_cond.h"

#include <signal.h>
#include <pthread.h>

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

#if APR_HAS_THREADS

#define SSLCODES_STORE_THREADS 4
#define SSLCODES_STORE_SLOTS 32
#define SSLCODES_STORE_STACK (256 * 1024)
/* A write still queued after this is dropped: a newer answer may have
 * been stored meanwhile (by this child or another), and a late write
 * would put the older one back. */
#define SSLCODES_STORE_WRITE_AGE apr_time_from_sec(2)

typedef enum {
    SSLCODES_SLOT_FREE = 0,
    SSLCODES_SLOT_QUEUED,
    SSLCODES_SLOT_RUNNING,
    SSLCODES_SLOT_DONE
} sslcodes_slot_e;

typedef struct {
    sslcodes_slot_e state;
    int abandoned;                    /* nobody waits for the answer     */
    int is_store;
    server_rec *s;
    unsigned char key[SSLCODES_OCSP_KEY_LEN];
    unsigned char data[SSLCODES_OCSP_ENTRY_LEN];
    unsigned int len;
    apr_time_t expiry;
    apr_time_t queued_at;
    apr_status_t rv;
} sslcodes_store_job;

struct sslcodes_store {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *queued;        /* a job waits for a thread        */
    apr_thread_cond_t *done;          /* a job is done                   */
    sslcodes_store_job job[SSLCODES_STORE_SLOTS];
};

/* The oldest queued job, marked running; NULL when there is none.  A
 * write queued too long ago is dropped on the way. */
static sslcodes_store_job *sslcodes_store_next(sslcodes_store *st)
{
    sslcodes_store_job *oldest = NULL, *j;
    apr_time_t now = apr_time_now();
    int i;

    for (i = 0; i < SSLCODES_STORE_SLOTS; i++) {
        j = &st->job[i];
        if (j->state != SSLCODES_SLOT_QUEUED) {
            continue;
        }
        if (j->is_store && now - j->queued_at > SSLCODES_STORE_WRITE_AGE) {
            j->state = SSLCODES_SLOT_FREE;
            continue;
        }
        if (!oldest || j->queued_at < oldest->queued_at) {
            oldest = j;
        }
    }
    if (oldest) {
        oldest->state = SSLCODES_SLOT_RUNNING;
    }
    return oldest;
}

/* One job, done without the lock on a copy of it: the provider may block
 * for as long as the store is stalled. */
static void sslcodes_store_run(sslcodes_store *st, sslcodes_store_job *j,
                               apr_pool_t *p)
{
    if (j->is_store) {
        j->rv = st->provider->store(st->instance, j->s, j->key,
                                    sizeof(j->key), j->expiry, j->data,
                                    j->len, p);
    }
    else {
        j->len = sizeof(j->data);
        j->rv = st->provider->retrieve(st->instance, j->s, j->key,
                                       sizeof(j->key), j->data, &j->len, p);
    }
}

static void *APR_THREAD_FUNC sslcodes_store_thread(apr_thread_t *t,
                                                   void *data)
{
    sslcodes_store *st = data;
    sslcodes_store_job *slot, copy;
    apr_pool_t *p;

    (void)t;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return NULL;
    }
    apr_thread_mutex_lock(st->mu);
    for (;;) {
        if (!(slot = sslcodes_store_next(st))) {
            apr_thread_cond_wait(st->queued, st->mu);
            continue;
        }
        copy = *slot;
        apr_thread_mutex_unlock(st->mu);
        sslcodes_store_run(st, &copy, p);
        apr_pool_clear(p);
        apr_thread_mutex_lock(st->mu);
        slot->rv = copy.rv;
        slot->len = copy.len;
        memcpy(slot->data, copy.data, sizeof(slot->data));
        if (slot->abandoned) {
            slot->abandoned = 0;
            slot->state = SSLCODES_SLOT_FREE;
        }
        else {
            slot->state = SSLCODES_SLOT_DONE;
            apr_thread_cond_broadcast(st->done);
        }
    }
    return NULL;
}

/*
 * In each child: the lock, the conditions and the threads.  Their memory
 * is not the child's pool, which is destroyed at exit while a thread may
 * still be waiting on a store; it ends with the process.
 */
sslcodes_store *sslcodes_store_start(const ap_socache_provider_t *provider,
                                     ap_socache_instance_t *instance,
                                     server_rec *s)
{
    apr_pool_t *p;
    apr_threadattr_t *attr;
    apr_thread_t *t;
    sslcodes_store *st;
    apr_status_t rv;
    int i;

    sigset_t all, old;
    int threads = SSLCODES_STORE_THREADS, limit = 0;

    /* Under prefork a child has one thread, and the providers size their
     * connection pool to it: more threads would only queue there. */
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &limit) == APR_SUCCESS
        && limit > 0 && limit < threads) {
        threads = limit;
    }
    rv = apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    if (rv == APR_SUCCESS) {
        st = apr_pcalloc(p, sizeof(*st));
        st->provider = provider;
        st->instance = instance;
        rv = apr_thread_mutex_create(&st->mu, APR_THREAD_MUTEX_DEFAULT, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&st->queued, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&st->done, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_threadattr_create(&attr, p);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_threadattr_detach_set(attr, 1);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_threadattr_stacksize_set(attr, SSLCODES_STORE_STACK);
    }
    /* The MPM's signals are for its own threads: these never take one. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (i = 0; rv == APR_SUCCESS && i < threads; i++) {
        rv = apr_thread_create(&t, attr, sslcodes_store_thread, st, p);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLCODES_LOGNO(0512)
                     "SSLCodesOCSPCache: cannot start the threads that ask "
                     "the %s store; OCSP answers are not cached in this "
                     "process", provider->name);
        return NULL;
    }
    return st;
}

/* A free slot, filled and queued; NULL when all are taken. */
static sslcodes_store_job *sslcodes_store_queue(sslcodes_store *st,
                                                server_rec *s,
                                                const unsigned char *key,
                                                int is_store)
{
    sslcodes_store_job *j;
    int i;

    for (i = 0; i < SSLCODES_STORE_SLOTS; i++) {
        j = &st->job[i];
        if (j->state == SSLCODES_SLOT_FREE) {
            j->state = SSLCODES_SLOT_QUEUED;
            j->abandoned = 0;
            j->is_store = is_store;
            j->s = s;
            j->queued_at = apr_time_now();
            memcpy(j->key, key, sizeof(j->key));
            apr_thread_cond_signal(st->queued);
            return j;
        }
    }
    return NULL;
}

/* A write for KEY still waiting for a thread: the newest data replaces
 * what it would have written. */
static sslcodes_store_job *sslcodes_store_queued_write(sslcodes_store *st,
                                                       const unsigned char *key)
{
    int i;

    for (i = 0; i < SSLCODES_STORE_SLOTS; i++) {
        if (st->job[i].state == SSLCODES_SLOT_QUEUED && st->job[i].is_store
            && memcmp(st->job[i].key, key, sizeof(st->job[i].key)) == 0) {
            return &st->job[i];
        }
    }
    return NULL;
}

/* The entry under KEY, into DATA (*LEN bytes at most), waiting until
 * DEADLINE at the latest; APR_TIMEUP when the store did not answer in
 * time, APR_EAGAIN when it is not answering anything. */
apr_status_t sslcodes_store_get(sslcodes_store *st, server_rec *s,
                                const unsigned char *key,
                                unsigned char *data, unsigned int *len,
                                apr_time_t deadline)
{
    sslcodes_store_job *j;
    apr_interval_time_t left;
    apr_status_t rv = APR_TIMEUP;

    apr_thread_mutex_lock(st->mu);
    if (!(j = sslcodes_store_queue(st, s, key, 0))) {
        apr_thread_mutex_unlock(st->mu);
        return APR_EAGAIN;
    }
    while (j->state != SSLCODES_SLOT_DONE
           && (left = deadline - apr_time_now()) > 0) {
        apr_thread_cond_timedwait(st->done, st->mu, left);
    }
    if (j->state == SSLCODES_SLOT_DONE) {
        rv = j->rv;
        if (rv == APR_SUCCESS && j->len <= *len) {
            memcpy(data, j->data, j->len);
            *len = j->len;
        }
        else if (rv == APR_SUCCESS) {
            rv = APR_ENOSPC;
        }
        j->state = SSLCODES_SLOT_FREE;
    }
    else if (j->state == SSLCODES_SLOT_QUEUED) {
        j->state = SSLCODES_SLOT_FREE;      /* never started */
    }
    else {
        j->abandoned = 1;                   /* its thread frees it */
    }
    apr_thread_mutex_unlock(st->mu);
    return rv;
}

/* Store DATA under KEY until EXPIRY, without waiting for the store. */
apr_status_t sslcodes_store_put(sslcodes_store *st, server_rec *s,
                                const unsigned char *key,
                                const unsigned char *data, unsigned int len,
                                apr_time_t expiry)
{
    sslcodes_store_job *j;

    if (len > SSLCODES_OCSP_ENTRY_LEN) {
        return APR_ENOSPC;
    }
    apr_thread_mutex_lock(st->mu);
    if (!(j = sslcodes_store_queued_write(st, key))
        && !(j = sslcodes_store_queue(st, s, key, 1))) {
        apr_thread_mutex_unlock(st->mu);
        return APR_EAGAIN;
    }
    j->queued_at = apr_time_now();
    j->abandoned = 1;
    j->expiry = expiry;
    j->len = len;
    memcpy(j->data, data, len);
    apr_thread_mutex_unlock(st->mu);
    return APR_SUCCESS;
}

#else /* !APR_HAS_THREADS */

sslcodes_store *sslcodes_store_start(const ap_socache_provider_t *provider,
                                     ap_socache_instance_t *instance,
                                     server_rec *s)
{
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SSLCODES_LOGNO(0512)
                 "SSLCodesOCSPCache: the %s store needs threads to be asked "
                 "with a deadline, and APR has none; OCSP answers are not "
                 "cached", provider->name);
    (void)instance;
    return NULL;
}

apr_status_t sslcodes_store_get(sslcodes_store *st, server_rec *s,
                                const unsigned char *key,
                                unsigned char *data, unsigned int *len,
                                apr_time_t deadline)
{
    (void)st, (void)s, (void)key, (void)data, (void)len, (void)deadline;
    return APR_ENOTIMPL;
}

apr_status_t sslcodes_store_put(sslcodes_store *st, server_rec *s,
                                const unsigned char *key,
                                const unsigned char *data, unsigned int len,
                                apr_time_t expiry)
{
    (void)st, (void)s, (void)key, (void)data, (void)len, (void)expiry;
    return APR_ENOTIMPL;
}

#endif /* APR_HAS_THREADS */
