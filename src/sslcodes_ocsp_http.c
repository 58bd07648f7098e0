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
 * sslcodes_ocsp_http.c: ask an OCSP responder, over HTTP/1.0, within
 * SSLOCSPResponderTimeout.  OpenSSL's own HTTP client does the talking,
 * without blocking; the waiting is poll() with a deadline, so a responder
 * that accepts and never answers holds the handshake no longer than that.
 */

#include "httpd.h"
#include "http_log.h"

#include "apr_strings.h"

#include <errno.h>
#include <poll.h>

#include <openssl/err.h>
#ifndef OPENSSL_NO_OCSP
#include <openssl/ocsp.h>
#endif
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/http.h>
#endif

#include "sslcodes_private.h"

/* The system error inside OpenSSL error E, or 0. */
static int sslcodes_ssl_errno(unsigned long e)
{
#ifdef ERR_SYSTEM_ERROR
    return ERR_SYSTEM_ERROR(e) ? ERR_GET_REASON(e) : 0;
#else
    return ERR_GET_LIB(e) == ERR_LIB_SYS ? ERR_GET_REASON(e) : 0;
#endif
}

/* "WHAT: reason (detail)" from the first OpenSSL error queued, for the
 * log; WHAT alone when there is none. */
const char *sslcodes_ssl_why(apr_pool_t *p, const char *what)
{
    const char *reason = NULL, *data = NULL;
    unsigned long e;
    char buf[256];
    int sys, flags = 0;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    e = ERR_peek_error_data(&data, &flags);
#else
    e = ERR_peek_error_line_data(NULL, NULL, &data, &flags);
#endif
    if (!e) {
        return what;
    }
    if ((sys = sslcodes_ssl_errno(e)) != 0) {
        reason = apr_strerror(APR_FROM_OS_ERROR(sys), buf, sizeof(buf));
    }
    else if (!(reason = ERR_reason_error_string(e))) {
        ERR_error_string_n(e, buf, sizeof(buf));
        reason = buf;
    }
    if (!sys && data && *data && (flags & ERR_TXT_STRING)) {
        return apr_psprintf(p, "%s: %s (%s)", what, reason,
                            ap_escape_logitem(p, data));
    }
    return apr_psprintf(p, "%s: %s", what, reason);
}

#ifndef OPENSSL_NO_OCSP

/* Wait until the socket under BIO can be read (or written, FOR_WRITE),
 * at most until DEADLINE. */
static apr_status_t sslcodes_http_wait(BIO *bio, int for_write,
                                       apr_time_t deadline)
{
    int fd = -1;

    if (BIO_get_fd(bio, &fd) < 0 || fd < 0) {
        return APR_EGENERAL;
    }
    return sslcodes_poll_until(fd, for_write ? POLLOUT : POLLIN, deadline,
                               NULL);
}

/* Connect without blocking past DEADLINE.  The name lookup itself, when
 * the responder is named by host name, is a plain getaddrinfo(). */
static sslcodes_fetch_e sslcodes_http_connect(apr_pool_t *p, BIO *bio,
                                              apr_time_t deadline,
                                              const char **why)
{
    for (;;) {
        if (BIO_do_connect(bio) > 0) {
            return SSLCODES_FETCH_OK;
        }
        if (!BIO_should_retry(bio)) {
            *why = sslcodes_ssl_why(p, "cannot connect");
            return SSLCODES_FETCH_UNREACHABLE;
        }
        if (sslcodes_http_wait(bio, 1, deadline) != APR_SUCCESS) {
            return SSLCODES_FETCH_TIMEOUT;
        }
    }
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
typedef OSSL_HTTP_REQ_CTX sslcodes_http;
#define sslcodes_http_free OSSL_HTTP_REQ_CTX_free
#else
typedef OCSP_REQ_CTX sslcodes_http;
#define sslcodes_http_free OCSP_REQ_CTX_free
#endif

/* An HTTP/1.0 POST of REQ to TO, through BIO.  Through a proxy the
 * request line carries the absolute URL. */
static sslcodes_http *sslcodes_http_new(apr_pool_t *p, BIO *bio,
                                        const sslcodes_url *to,
                                        OCSP_REQUEST *req, int proxied)
{
    const char *hostport = apr_pstrcat(p, to->host, ":", to->port, NULL);
    sslcodes_http *h;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    if (!(h = OSSL_HTTP_REQ_CTX_new(bio, bio, 0))) {
        return NULL;
    }
    if (!OSSL_HTTP_REQ_CTX_set_request_line(h, 1,
                                            proxied ? to->host : NULL,
                                            proxied ? to->port : NULL,
                                            to->path)
        || !OSSL_HTTP_REQ_CTX_add1_header(h, "Host", hostport)
        || !OSSL_HTTP_REQ_CTX_set_expected(h, NULL, 1, 0, 0)
        || !OSSL_HTTP_REQ_CTX_set1_req(h, "application/ocsp-request",
                                       ASN1_ITEM_rptr(OCSP_REQUEST),
                                       (const ASN1_VALUE *)req)) {
        OSSL_HTTP_REQ_CTX_free(h);
        return NULL;
    }
#else
    const char *path = proxied ? apr_pstrcat(p, "http://", hostport,
                                             to->path, NULL)
                               : to->path;

    if (!(h = OCSP_sendreq_new(bio, path, NULL, -1))) {
        return NULL;
    }
    if (!OCSP_REQ_CTX_add1_header(h, "Host", hostport)
        || !OCSP_REQ_CTX_set1_req(h, req)) {
        OCSP_REQ_CTX_free(h);
        return NULL;
    }
#endif
    return h;
}

static int sslcodes_http_step(sslcodes_http *h, OCSP_RESPONSE **resp)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return OSSL_HTTP_REQ_CTX_nbio_d2i(h, (ASN1_VALUE **)resp,
                                      ASN1_ITEM_rptr(OCSP_RESPONSE));
#else
    return OCSP_sendreq_nbio(resp, h);
#endif
}

/* Send REQ to TO (through PROXY, if not NULL) and read the answer into
 * *RESP, all within TIMEOUT.  On failure *WHY says what went wrong. */
sslcodes_fetch_e sslcodes_ocsp_fetch(apr_pool_t *p, const sslcodes_url *to,
                                     const sslcodes_url *proxy,
                                     apr_interval_time_t timeout,
                                     OCSP_REQUEST *req, OCSP_RESPONSE **resp,
                                     const char **why)
{
    const sslcodes_url *hop = proxy ? proxy : to;
    apr_time_t deadline = apr_time_now() + timeout;
    sslcodes_http *h = NULL;
    sslcodes_fetch_e res;
    BIO *bio;
    int rc;

    bio = BIO_new_connect(apr_pstrcat(p, hop->host, ":", hop->port, NULL));
    if (!bio) {
        *why = "cannot set up a connection";
        return SSLCODES_FETCH_UNREACHABLE;
    }
    BIO_set_nbio(bio, 1);
    res = sslcodes_http_connect(p, bio, deadline, why);
    if (res == SSLCODES_FETCH_OK
        && !(h = sslcodes_http_new(p, bio, to, req, proxy != NULL))) {
        *why = "cannot build the HTTP request";
        res = SSLCODES_FETCH_FAILED;
    }
    while (h && (rc = sslcodes_http_step(h, resp)) != 1) {
        if (rc == 0 || !BIO_should_retry(bio)) {
            *why = sslcodes_ssl_why(p, "HTTP exchange failed");
            res = SSLCODES_FETCH_FAILED;
            break;
        }
        if (sslcodes_http_wait(bio, BIO_should_write(bio), deadline)
            != APR_SUCCESS) {
            res = SSLCODES_FETCH_TIMEOUT;
            break;
        }
    }
    if (h) {
        sslcodes_http_free(h);
    }
    BIO_free_all(bio);
    return res;
}

#endif /* OPENSSL_NO_OCSP */
