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
 * sslcodes_status.c: count the module's answers across every child
 * process, and show the counts in mod_status's server-status page.
 *
 * The counters live in one anonymous shared memory segment that the parent
 * creates once, in its process pool, and finds again on every restart
 * through ap_retained_data: children inherit the mapping by fork, so an
 * answer in any child is seen by all.  They survive a graceful restart and
 * are reset where httpd resets its scoreboard (startup, full restart), so
 * they read as "since Restart Time", like mod_status's own totals.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "scoreboard.h"

#include "apr_shm.h"
#include "apr_strings.h"

#include "mod_status.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

/*
 * Updates take no lock: each is one atomic add in shared memory.  Not
 * apr_atomic: where APR has no native atomics it falls back to a mutex
 * that lives in each process's own memory, which would not protect a
 * counter shared between processes.  The compiler's builtins are
 * lock-free for a type of the machine's word size.
 */
#if defined(__GCC_ATOMIC_LLONG_LOCK_FREE) && __GCC_ATOMIC_LLONG_LOCK_FREE == 2
typedef unsigned long long sslcodes_counter;
#else
typedef unsigned long sslcodes_counter;
#endif

typedef struct {
    int code;                 /* what sslcodes_status_count() is given */
    const char *key;          /* server-status?auto name               */
    const char *meaning;      /* server-status HTML                    */
} sslcodes_slot;

/* In the order they are shown.  The counters are indexed the same way. */
static const sslcodes_slot sslcodes_slots[] = {
    { 400, "SSLCodesPlain400",
      "Plain HTTP whose Host chose a virtual host with SSLCodes off "
      "(mod_ssl's 400)" },
    { 444, "SSLCodes444", "No Response (closed without an answer)" },
    { 494, "SSLCodes494", "Request Header Too Large" },
    { 495, "SSLCodes495", "SSL Certificate Error" },
    { 496, "SSLCodes496", "SSL Certificate Required" },
    { 497, "SSLCodes497", "HTTP Request Sent to HTTPS Port" },
    { 499, "SSLCodes499", "Client Closed Request" }
};

#define SSLCODES_NSLOTS \
    (sizeof(sslcodes_slots) / sizeof(sslcodes_slots[0]))

/* Kept in the parent's process pool across restarts.  Nothing in it may
 * point into the module itself: httpd unloads and reloads the module on
 * every restart. */
typedef struct {
    apr_shm_t *shm;
    sslcodes_counter *counters;
    apr_size_t nslots;        /* the layout the segment was made for */
} sslcodes_status_retained;

#define SSLCODES_STATUS_KEY "mod_sslcodes: answer counters"

/* This generation's view of the segment; NULL if it could not be made. */
static sslcodes_counter *sslcodes_counters;

static int sslcodes_slot_of(int code)
{
    int i;

    for (i = 0; i < (int)SSLCODES_NSLOTS; i++) {
        if (sslcodes_slots[i].code == code) {
            return i;
        }
    }
    return -1;
}

void sslcodes_status_count(int code)
{
    int i = sslcodes_slot_of(code);

    if (sslcodes_counters && i >= 0) {
        (void)__atomic_fetch_add(&sslcodes_counters[i], 1, __ATOMIC_RELAXED);
    }
}

static apr_uint64_t sslcodes_status_read(int i)
{
    return (apr_uint64_t)__atomic_load_n(&sslcodes_counters[i],
                                         __ATOMIC_RELAXED);
}

/*
 * Find the segment again, or make it.  A module built with another slot
 * layout (an upgrade across a graceful restart) gets a new segment: the old
 * one may still be written by the previous generation's children, so it is
 * left alone until the parent exits.
 */
void sslcodes_status_post_config(server_rec *s)
{
    sslcodes_status_retained *rd = ap_retained_data_get(SSLCODES_STATUS_KEY);
    apr_size_t size = SSLCODES_NSLOTS * sizeof(sslcodes_counter);
    apr_status_t rv;

    if (!rd) {
        rd = ap_retained_data_create(SSLCODES_STATUS_KEY, sizeof(*rd));
    }
    if (!rd->counters || rd->nslots != SSLCODES_NSLOTS) {
        rv = apr_shm_create(&rd->shm, size, NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, SSLCODES_LOGNO(0301)
                         "cannot create anonymous shared memory for the "
                         "answer counters; server-status will not show "
                         "them");
            rd->counters = NULL;
            sslcodes_counters = NULL;
            return;
        }
        rd->counters = apr_shm_baseaddr_get(rd->shm);
        rd->nslots = SSLCODES_NSLOTS;
        memset(rd->counters, 0, size);
    }
    sslcodes_counters = rd->counters;
}

/* httpd runs pre_mpm at startup and on a full restart, never on a graceful
 * one, and resets the scoreboard there: the counters start again with it.
 * The children of the previous generation are gone by then. */
static int sslcodes_status_pre_mpm(apr_pool_t *p, ap_scoreboard_e sb_type)
{
    apr_size_t i;

    (void)p;
    (void)sb_type;
    for (i = 0; sslcodes_counters && i < SSLCODES_NSLOTS; i++) {
        __atomic_store_n(&sslcodes_counters[i], 0, __ATOMIC_RELAXED);
    }
    return OK;
}

/* --- server-status ------------------------------------------------------- */

static void sslcodes_status_auto(request_rec *r)
{
    int i;

    for (i = 0; i < (int)SSLCODES_NSLOTS; i++) {
        ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", sslcodes_slots[i].key,
                   sslcodes_status_read(i));
    }
}

static void sslcodes_status_html(request_rec *r, int table)
{
    const sslcodes_slot *sl;
    int i;

    ap_rputs("<hr /><h2>mod_sslcodes answers</h2>\n", r);
    if (table) {
        ap_rputs("<table border=\"0\">\n<tr><th>Code</th><th>Answers</th>"
                 "<th>Meaning</th></tr>\n", r);
    }
    for (i = 0; i < (int)SSLCODES_NSLOTS; i++) {
        sl = &sslcodes_slots[i];
        if (table) {
            ap_rprintf(r, "<tr><td>%d</td><td>%" APR_UINT64_T_FMT "</td>"
                       "<td>%s</td></tr>\n", sl->code,
                       sslcodes_status_read(i), sl->meaning);
        }
        else {
            ap_rprintf(r, "%s: %" APR_UINT64_T_FMT " (%s)<br />\n", sl->key,
                       sslcodes_status_read(i), sl->meaning);
        }
    }
    if (table) {
        ap_rputs("</table>\n", r);
    }
}

static int sslcodes_status_hook(request_rec *r, int flags)
{
    if (!sslcodes_counters) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        sslcodes_status_auto(r);
    }
    else {
        sslcodes_status_html(r, !(flags & AP_STATUS_NOTABLE));
    }
    return OK;
}

void sslcodes_status_register(void)
{
    /* An optional hook: the module loads and counts without mod_status,
     * and mod_status finds the hook whenever it is loaded. */
    APR_OPTIONAL_HOOK(ap, status_hook, sslcodes_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_pre_mpm(sslcodes_status_pre_mpm, NULL, NULL, APR_HOOK_MIDDLE);
}
