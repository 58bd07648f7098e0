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
 * sslcodes_ocsp_cache.c: SSLCodesOCSPCache, the OCSP verdicts about client
 * certificates kept in a socache shared by the server's processes, so that
 * a busy server asks the responder once per certificate, not once per
 * handshake.  What is kept, and for how long, is sslcodes_ocsp.c's
 * business; this file only stores it under a lock.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"

#include "apr_strings.h"
#include "apr_file_info.h"
#include "apr_global_mutex.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

struct sslcodes_ocsp_cache {
    const char *spec;                      /* as configured               */
    const ap_socache_provider_t *provider; /* NULL for "none"             */
    ap_socache_instance_t *instance;
    server_rec *s;                         /* for destroy()               */
};

/* The longest an entry is kept: 30 days, less a minute of margin for the
 * time between this call and the store's own clock. */
#define SSLCODES_OCSP_CACHE_MAX apr_time_from_sec(30 * 86400 - 60)

/* The Mutex name, for the "Mutex" directive. */
#define SSLCODES_OCSP_MUTEX "sslcodes-ocsp-cache"

/* The cache in use from post_config on, and the lock around it when the
 * provider needs one (shmcb does).  NULL without a cache. */
static sslcodes_ocsp_cache *sslcodes_ocsp_live;
static apr_global_mutex_t *sslcodes_ocsp_mutex;

/* In each child, for a store on the network (a provider that needs no
 * lock: memcache, redis): the threads that ask it (sslcodes_store.c). */
static sslcodes_store *sslcodes_ocsp_store;

/* How long a handshake waits for such a store: a store on a LAN answers
 * in a millisecond; one that has not answered in this time is not
 * answering. */
#define SSLCODES_OCSP_STORE_WAIT apr_time_from_msec(500)

/* "none", or a socache provider and its arguments, as SSLSessionCache.
 * The provider's create() checks the arguments now, so a bad one stops
 * startup at this line. */
const char *sslcodes_ocsp_cache_config(cmd_parms *cmd, const char *arg,
                                       sslcodes_ocsp_cache **out)
{
    sslcodes_ocsp_cache *cache = apr_pcalloc(cmd->pool, sizeof(*cache));
    const char *sep = ap_strchr_c(arg, ':'), *name = arg, *err;
    apr_array_header_t *names;
    const ap_list_provider_names_t *n;
    const char *known = "";
    int i;

    cache->spec = arg;
    *out = cache;
    if (strcasecmp(arg, "none") == 0) {
        return NULL;
    }
    if (sep) {
        name = apr_pstrmemdup(cmd->temp_pool, arg, sep - arg);
    }
    cache->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                         AP_SOCACHE_PROVIDER_VERSION);
    if (!cache->provider) {
        names = ap_list_provider_names(cmd->temp_pool,
                                       AP_SOCACHE_PROVIDER_GROUP,
                                       AP_SOCACHE_PROVIDER_VERSION);
        n = (const ap_list_provider_names_t *)names->elts;
        for (i = 0; i < names->nelts; i++) {
            known = apr_pstrcat(cmd->temp_pool, known, ", ",
                                n[i].provider_name, NULL);
        }
        return apr_psprintf(cmd->pool, "%s: unknown cache type '%s' "
                            "(expected none%s; is mod_socache_%s loaded?)",
                            cmd->cmd->name, name, known, name);
    }
    err = cache->provider->create(&cache->instance, sep ? sep + 1 : NULL,
                                  cmd->temp_pool, cmd->pool);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    return NULL;
}

int sslcodes_ocsp_cache_pre_config(apr_pool_t *pconf)
{
    return ap_mutex_register(pconf, SSLCODES_OCSP_MUTEX, NULL,
                             APR_LOCK_DEFAULT, 0) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static apr_status_t sslcodes_ocsp_cache_cleanup(void *data)
{
    sslcodes_ocsp_cache *cache = data;

    cache->provider->destroy(cache->instance, cache->s);
    sslcodes_ocsp_live = NULL;
    sslcodes_ocsp_mutex = NULL;
    return APR_SUCCESS;
}

static int sslcodes_ocsp_cache_error(server_rec *s, apr_status_t rv,
                                     const char *what)
{
    ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, SSLCODES_LOGNO(0508)
                 "SSLCodesOCSPCache: cannot %s", what);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/*
 * For configtest, which creates no cache: a dbm cache's file must be
 * creatable at startup, and its directory must exist for that (the path
 * is relative to ServerRoot, as socache_dbm reads it).  What else can stop
 * a cache's setup (shared memory, the lock) is known only at startup, as
 * for mod_ssl's SSLSessionCache; shmcb needs no directory of its own.
 */
int sslcodes_ocsp_cache_check(server_rec *main_s, apr_pool_t *p, int in_use)
{
    const sslcodes_ocsp_cache *cache = sslcodes_srv(main_s)->ocsp_cache;
    const char *file, *dir;
    apr_finfo_t fi;

    if (!in_use || !cache || !cache->provider
        || strncasecmp(cache->spec, "dbm:", 4) != 0 || !cache->spec[4]) {
        return OK;
    }
    file = ap_server_root_relative(p, cache->spec + 4);
    dir = file ? ap_make_dirstr_parent(p, file) : NULL;
    if (!dir || apr_stat(&fi, dir, APR_FINFO_TYPE, p) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        return sslcodes_ocsp_cache_error(main_s, APR_SUCCESS,
            apr_psprintf(p, "set up '%s': no directory %s", cache->spec,
                         dir ? dir : cache->spec + 4));
    }
    return OK;
}

/* Set the cache up, where some vhost checks OCSP (IN_USE). */
int sslcodes_ocsp_cache_post_config(apr_pool_t *pconf, server_rec *main_s,
                                    int in_use)
{
    sslcodes_ocsp_cache *cache = sslcodes_srv(main_s)->ocsp_cache;
    struct ap_socache_hints hints = { SSLCODES_OCSP_KEY_LEN,
                                      SSLCODES_OCSP_ENTRY_LEN,
                                      apr_time_from_sec(3600) };
    apr_status_t rv;

    if (!in_use) {
        return OK;
    }
    if (!cache || !cache->provider) {
        if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_s,
                         SSLCODES_LOGNO(0509) "OCSP answers about client "
                         "certificates are not cached (SSLCodesOCSPCache "
                         "none): every full handshake asks the responder");
        }
        return OK;
    }
    if (cache->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&sslcodes_ocsp_mutex, NULL,
                                    SSLCODES_OCSP_MUTEX, NULL, main_s, pconf,
                                    0);
        if (rv != APR_SUCCESS) {
            return sslcodes_ocsp_cache_error(main_s, rv, "create its lock");
        }
    }
    rv = cache->provider->init(cache->instance, "mod_sslcodes-ocsp", &hints,
                               main_s, pconf);
    if (rv != APR_SUCCESS) {
        return sslcodes_ocsp_cache_error(main_s, rv,
            apr_psprintf(pconf, "set up '%s'", cache->spec));
    }
    cache->s = main_s;
    apr_pool_cleanup_register(pconf, cache, sslcodes_ocsp_cache_cleanup,
                              apr_pool_cleanup_null);
    sslcodes_ocsp_live = cache;
    return OK;
}

void sslcodes_ocsp_cache_child_init(apr_pool_t *p, server_rec *s)
{
    sslcodes_ocsp_cache *cache = sslcodes_ocsp_live;
    apr_status_t rv;

    if (cache && !(cache->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)) {
        sslcodes_ocsp_store = sslcodes_store_start(cache->provider,
                                                   cache->instance, s);
        if (!sslcodes_ocsp_store) {
            sslcodes_ocsp_live = NULL;
        }
        return;
    }
    if (!sslcodes_ocsp_mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&sslcodes_ocsp_mutex,
             apr_global_mutex_lockfile(sslcodes_ocsp_mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLCODES_LOGNO(0508)
                     "SSLCodesOCSPCache: cannot attach to its lock; OCSP "
                     "answers are not cached in this process");
        sslcodes_ocsp_live = NULL;
    }
}

int sslcodes_ocsp_cache_on(void)
{
    return sslcodes_ocsp_live != NULL;
}

static int sslcodes_ocsp_lock(void)
{
    return !sslcodes_ocsp_mutex
        || apr_global_mutex_lock(sslcodes_ocsp_mutex) == APR_SUCCESS;
}

static void sslcodes_ocsp_unlock(void)
{
    if (sslcodes_ocsp_mutex) {
        apr_global_mutex_unlock(sslcodes_ocsp_mutex);
    }
}

/* A lookup in a store on the network, bounded: 1 when BUF holds what it
 * answered in time.  A store that does not answer is logged at info and
 * treated as a miss. */
static int sslcodes_ocsp_store_get(server_rec *s, apr_pool_t *p,
                                   const unsigned char *key,
                                   unsigned char *buf, unsigned int *len)
{
    apr_interval_time_t wait = SSLCODES_OCSP_STORE_WAIT;
    apr_status_t rv;

    rv = sslcodes_store_get(sslcodes_ocsp_store, s, key, buf, len,
                            apr_time_now() + wait);
    if (rv == APR_TIMEUP || rv == APR_EAGAIN) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, SSLCODES_LOGNO(0513)
                     "SSLCodesOCSPCache: the %s store %s; asking the "
                     "responder", sslcodes_ocsp_live->provider->name,
                     rv == APR_TIMEUP
                     ? apr_psprintf(p, "did not answer within %"
                                    APR_TIME_T_FMT " ms",
                                    apr_time_as_msec(wait))
                     : "is not answering");
    }
    return rv == APR_SUCCESS;
}

/* The entry stored under KEY, into *E; 0 when there is none. */
int sslcodes_ocsp_cache_get(server_rec *s, apr_pool_t *p,
                            const unsigned char *key, sslcodes_ocsp_entry *e)
{
    sslcodes_ocsp_cache *cache = sslcodes_ocsp_live;
    unsigned char buf[SSLCODES_OCSP_ENTRY_LEN];
    unsigned int len = sizeof(buf);
    apr_status_t rv;

    if (!cache) {
        return 0;
    }
    if (sslcodes_ocsp_store) {
        return sslcodes_ocsp_store_get(s, p, key, buf, &len)
               && sslcodes_ocsp_entry_decode(buf, len, e) == 0;
    }
    if (!sslcodes_ocsp_lock()) {
        return 0;
    }
    rv = cache->provider->retrieve(cache->instance, s, key,
                                   SSLCODES_OCSP_KEY_LEN, buf, &len, p);
    sslcodes_ocsp_unlock();
    return rv == APR_SUCCESS && sslcodes_ocsp_entry_decode(buf, len, e) == 0;
}

/* Store E under KEY until UNTIL. */
apr_status_t sslcodes_ocsp_cache_put(server_rec *s, apr_pool_t *p,
                                     const unsigned char *key,
                                     const sslcodes_ocsp_entry *e,
                                     apr_time_t until)
{
    sslcodes_ocsp_cache *cache = sslcodes_ocsp_live;
    unsigned char buf[SSLCODES_OCSP_ENTRY_LEN];
    apr_status_t rv;

    if (!cache || !sslcodes_ocsp_lock()) {
        return APR_EGENERAL;
    }
    /* memcached reads an expiry of more than 30 days as a Unix time, and
     * mod_socache_memcache hands it "seconds from now": an answer valid
     * for longer would expire at once.  No store is handed more. */
    if (until > apr_time_now() + SSLCODES_OCSP_CACHE_MAX) {
        until = apr_time_now() + SSLCODES_OCSP_CACHE_MAX;
    }
    sslcodes_ocsp_entry_encode(e, buf);
    if (sslcodes_ocsp_store) {
        sslcodes_ocsp_unlock();
        return sslcodes_store_put(sslcodes_ocsp_store, s, key, buf,
                                  sizeof(buf), until);
    }
    rv = cache->provider->store(cache->instance, s, key,
                                SSLCODES_OCSP_KEY_LEN, until, buf,
                                sizeof(buf), p);
    sslcodes_ocsp_unlock();
    return rv;
}
