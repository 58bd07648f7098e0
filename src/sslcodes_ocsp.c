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
 * sslcodes_ocsp.c: OCSP for client certificates that SSLCodesVerifyClient
 * checks, with mod_ssl's SSLOCSP* settings.
 *
 * mod_ssl checks OCSP in its verify callback, but only under its own
 * SSLVerifyClient: under this module's directive its callback returns
 * before it gets there, and a revoked certificate would be served.  So the
 * module's verify callback makes the check itself, during the handshake,
 * and fails closed as mod_ssl does: revoked, unknown, or no usable answer.
 *
 * Verified answers are kept in a socache shared by the server's processes
 * (SSLCodesOCSPCache, sslcodes_ocsp_cache.c) until their nextUpdate,
 * bounded by SSLOCSPResponseMaxAge.  Only the verdict is kept, so a hit
 * costs no signature check.  The responder is asked by
 * sslcodes_ocsp_http.c.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_strings.h"
#include "apr_time.h"

#include <string.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#ifndef OPENSSL_NO_OCSP
#include <openssl/ocsp.h>
#endif

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

int sslcodes_ocsp_applies(server_rec *s, int depth)
{
    sslcodes_srv_conf *sc = sslcodes_srv(s);

    return sc->ocsp_ready
        && (sc->ocsp == SSLCODES_OCSP_CHAIN || depth == 0);
}

#ifdef OPENSSL_NO_OCSP

long sslcodes_ocsp_check(server_rec *s, conn_rec *c, X509_STORE_CTX *store)
{
    (void)s;
    (void)c;
    (void)store;
    return X509_V_ERR_APPLICATION_VERIFICATION;  /* never set up */
}

#else

/* OpenSSL 3.0 has verify errors of its own for OCSP; before, mod_ssl's. */
#ifdef X509_V_ERR_OCSP_CERT_UNKNOWN
#define SSLCODES_ERR_OCSP_UNKNOWN X509_V_ERR_OCSP_CERT_UNKNOWN
#define SSLCODES_ERR_OCSP_FAILED  X509_V_ERR_OCSP_VERIFY_FAILED
#else
#define SSLCODES_ERR_OCSP_UNKNOWN X509_V_ERR_APPLICATION_VERIFICATION
#define SSLCODES_ERR_OCSP_FAILED  X509_V_ERR_APPLICATION_VERIFICATION
#endif

/* --- One check ----------------------------------------------------------- */

typedef enum {
    SSLCODES_OCSP_GOOD = 0,     /* the three a responder can answer ...  */
    SSLCODES_OCSP_REVOKED,
    SSLCODES_OCSP_UNKNOWN,      /* ... in RFC 6960's order               */
    SSLCODES_OCSP_NO_URL,       /* no responder named anywhere           */
    SSLCODES_OCSP_BAD_URL,      /* one named that cannot be asked        */
    SSLCODES_OCSP_UNREACHABLE,
    SSLCODES_OCSP_TIMEOUT,
    SSLCODES_OCSP_BAD_ANSWER
} sslcodes_ocsp_result_e;

typedef struct {
    conn_rec *c;
    server_rec *s;
    sslcodes_srv_conf *sc;
    apr_pool_t *p;
    X509 *cert;
    int depth;
    sslcodes_url to;            /* the responder                         */
    const char *url;            /* ... as text, for the log              */
    const char *why;            /* what went wrong, for the log          */
    sslcodes_ocsp_entry entry;  /* the answer                            */
    int cached;                 /* ... came from SSLCodesOCSPCache       */
} sslcodes_ocsp_query;

/* The first usable http:// OCSP URL of the certificate's Authority
 * Information Access.  *seen says whether it names any OCSP URL. */
static int sslcodes_ocsp_aia(sslcodes_ocsp_query *q, int *seen)
{
    AUTHORITY_INFO_ACCESS *aia;
    ACCESS_DESCRIPTION *ad;
    const unsigned char *data;
    int i, len, found = 0;

    aia = X509_get_ext_d2i(q->cert, NID_info_access, NULL, NULL);
    for (i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia) && !found; i++) {
        ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) != NID_ad_OCSP
            || ad->location->type != GEN_URI) {
            continue;
        }
        data = ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier);
        len = ASN1_STRING_length(ad->location->d.uniformResourceIdentifier);
        q->url = ap_escape_logitem(q->p,
                                   apr_pstrmemdup(q->p, (const char *)data,
                                                  len));
        *seen = 1;
        found = sslcodes_url_parse((const char *)data, (size_t)len,
                                   &q->to) == 0;
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    return found;
}

/* Which responder to ask, as mod_ssl chooses: SSLOCSPOverrideResponder's,
 * else the certificate's own, else SSLOCSPDefaultResponder. */
static sslcodes_ocsp_result_e sslcodes_ocsp_responder(sslcodes_ocsp_query *q)
{
    sslcodes_ocsp_srv *os = q->sc->ocsp_ready;
    int seen = 0;

    if (!q->sc->ocsp_override && sslcodes_ocsp_aia(q, &seen)) {
        return SSLCODES_OCSP_GOOD;
    }
    if (os->responder) {
        q->to = *os->responder;
        q->url = q->sc->ocsp_responder;
        return SSLCODES_OCSP_GOOD;
    }
    if (seen) {
        q->why = apr_psprintf(q->p, "its OCSP URL '%s' is not an http:// "
                              "URL", q->url);
        return SSLCODES_OCSP_BAD_URL;
    }
    q->why = "it names no OCSP responder and there is no "
             "SSLOCSPDefaultResponder";
    return SSLCODES_OCSP_NO_URL;
}

/* --- The shared cache ---------------------------------------------------- */

/* One answer per certificate, responder and way of trusting the answer.
 * Every setting that decides whether an answer is believed is part of the
 * key: the responder, the nonce requirement, the signer certificates and
 * SSLOCSPNoVerify, the store that verifies the signature (CAs, CRLs and
 * their checks, SSLOpenSSLConfCmd), the allowed clock skew and the
 * maximum age.  So a vhost that would refuse an answer (a
 * replayed one without its nonce, say) never takes it from the cache of
 * one that accepted it; each asks the responder itself. */
static int sslcodes_ocsp_key(sslcodes_ocsp_query *q, OCSP_CERTID *id,
                             unsigned char *key)
{
    const sslcodes_srv_conf *sc = q->sc;
    const char *how = apr_psprintf(q->p, "%s:%s%s|nonce=%d|noverify=%d|"
                                   "certs=%s|skew=%ld|maxage=%ld",
                                   q->to.host, q->to.port, q->to.path,
                                   sc->ocsp_nonce, sc->ocsp_noverify,
                                   sc->ocsp_certs_file ? sc->ocsp_certs_file
                                                       : "",
                                   sc->ocsp_skew, sc->ocsp_maxage);
    unsigned char *der = NULL;
    int i;
    unsigned int n = 0;
    int len = i2d_OCSP_CERTID(id, &der), ok;
    EVP_MD_CTX *md = len > 0 ? EVP_MD_CTX_new() : NULL;

    ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL)
         && EVP_DigestUpdate(md, der, (size_t)len)
         && EVP_DigestUpdate(md, how, strlen(how) + 1);
    /* The store that checks the answer's signer: CAs, CRLs, and what
     * SSLOpenSSLConfCmd set. */
    for (i = 0; ok && i < SSLCODES_NTRUST; i++) {
        ok = EVP_DigestUpdate(md, sc->trust[i] ? sc->trust[i] : "",
                              sc->trust[i] ? strlen(sc->trust[i]) + 1 : 1);
    }
    ok = ok && EVP_DigestFinal_ex(md, key, &n)
         && n == SSLCODES_OCSP_KEY_LEN;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

/* A fresh answer for KEY, in q->entry; "fresh" by this vhost's
 * SSLOCSPResponseMaxAge, whichever vhost stored it. */
static int sslcodes_ocsp_recall(sslcodes_ocsp_query *q,
                                const unsigned char *key)
{
    return sslcodes_ocsp_cache_get(q->s, q->p, key, &q->entry)
        && apr_time_sec(apr_time_now())
           < sslcodes_ocsp_entry_expiry(&q->entry, q->sc->ocsp_maxage);
}

static void sslcodes_ocsp_keep(sslcodes_ocsp_query *q,
                               const unsigned char *key)
{
    long long until = sslcodes_ocsp_entry_expiry(&q->entry,
                                                 q->sc->ocsp_maxage);
    char date[APR_RFC822_DATE_LEN];
    apr_status_t rv;

    if (until <= apr_time_sec(apr_time_now())) {
        return;
    }
    rv = sslcodes_ocsp_cache_put(q->s, q->p, key, &q->entry,
                                 apr_time_from_sec((apr_time_t)until));
    if (APLOGctrace2(q->c)) {
        apr_rfc822_date(date, apr_time_from_sec((apr_time_t)until));
        ap_log_cerror(APLOG_MARK, APLOG_TRACE2, rv, q->c,
                      "OCSP answer from %s %s until %s", q->url,
                      rv == APR_SUCCESS ? "cached" : "could not be cached",
                      date);
    }
}

/* --- Asking the responder ------------------------------------------------ */

/* Seconds since the epoch of T, or 0 without T. */
static long long sslcodes_ocsp_time(const ASN1_GENERALIZEDTIME *t,
                                    apr_time_t now)
{
    int days = 0, secs = 0;

    if (!t || !ASN1_TIME_diff(&days, &secs, NULL, t)) {
        return 0;
    }
    return (long long)apr_time_sec(now) + (long long)days * 86400 + secs;
}

/* Check RESP as mod_ssl does (ssl_engine_ocsp.c): successful, signed by
 * someone allowed to answer for the issuer, with our nonce, about ID,
 * and valid now. */
static sslcodes_ocsp_result_e sslcodes_ocsp_read(sslcodes_ocsp_query *q,
                                                 X509_STORE_CTX *store,
                                                 OCSP_REQUEST *req,
                                                 OCSP_CERTID *id,
                                                 OCSP_RESPONSE *resp)
{
    sslcodes_ocsp_srv *os = q->sc->ocsp_ready;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    int st = OCSP_response_status(resp), status = -1, reason = -1;
    OCSP_BASICRESP *bs = NULL;
    apr_time_t now = apr_time_now();

    if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        q->why = apr_psprintf(q->p, "response status %s",
                              OCSP_response_status_str(st));
    }
    else if (!(bs = OCSP_response_get1_basic(resp))) {
        q->why = "not a basic OCSP response";
    }
    else if (q->sc->ocsp_nonce && OCSP_check_nonce(req, bs) != 1) {
        q->why = "its nonce is not the request's";
    }
    else if (!q->sc->ocsp_noverify
             && OCSP_basic_verify(bs, os->certs,
                                  X509_STORE_CTX_get0_store(store),
                                  os->verify_flags) != 1) {
        q->why = sslcodes_ssl_why(q->p, "its signature does not verify");
    }
    else if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd,
                                   &nextupd) != 1) {
        q->why = "it says nothing about the certificate";
    }
    else if (OCSP_check_validity(thisupd, nextupd, q->sc->ocsp_skew,
                                 q->sc->ocsp_maxage) != 1) {
        q->why = "it is outside its validity period (or older than "
                 "SSLOCSPResponseMaxAge)";
    }
    else {
        q->entry.status = status;
        q->entry.reason = status == V_OCSP_CERTSTATUS_REVOKED ? reason : -1;
        q->entry.this_update = sslcodes_ocsp_time(thisupd, now);
        q->entry.next_update = sslcodes_ocsp_time(nextupd, now);
    }
    OCSP_BASICRESP_free(bs);
    if (status < V_OCSP_CERTSTATUS_GOOD || q->why) {
        return SSLCODES_OCSP_BAD_ANSWER;
    }
    return status == V_OCSP_CERTSTATUS_GOOD ? SSLCODES_OCSP_GOOD
         : status == V_OCSP_CERTSTATUS_REVOKED ? SSLCODES_OCSP_REVOKED
         : SSLCODES_OCSP_UNKNOWN;
}

static OCSP_REQUEST *sslcodes_ocsp_request(sslcodes_ocsp_query *q,
                                           OCSP_CERTID *id)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *mine = OCSP_CERTID_dup(id);

    if (!req || !mine || !OCSP_request_add0_id(req, mine)) {
        OCSP_CERTID_free(mine);
        OCSP_REQUEST_free(req);
        return NULL;
    }
    if (q->sc->ocsp_nonce && !OCSP_request_add1_nonce(req, NULL, -1)) {
        OCSP_REQUEST_free(req);
        return NULL;
    }
    return req;
}

static sslcodes_ocsp_result_e sslcodes_ocsp_ask(sslcodes_ocsp_query *q,
                                                X509_STORE_CTX *store,
                                                OCSP_CERTID *id)
{
    sslcodes_ocsp_srv *os = q->sc->ocsp_ready;
    OCSP_REQUEST *req = sslcodes_ocsp_request(q, id);
    OCSP_RESPONSE *resp = NULL;
    sslcodes_ocsp_result_e res;

    if (!req) {
        q->why = "cannot build the OCSP request";
        return SSLCODES_OCSP_BAD_ANSWER;
    }
    switch (sslcodes_ocsp_fetch(q->p, &q->to, os->proxy,
                                q->sc->ocsp_timeout, req, &resp, &q->why)) {
    case SSLCODES_FETCH_OK:
        res = sslcodes_ocsp_read(q, store, req, id, resp);
        break;
    case SSLCODES_FETCH_UNREACHABLE:
        res = SSLCODES_OCSP_UNREACHABLE;
        break;
    case SSLCODES_FETCH_TIMEOUT:
        res = SSLCODES_OCSP_TIMEOUT;
        break;
    default:
        res = SSLCODES_OCSP_BAD_ANSWER;
        break;
    }
    OCSP_RESPONSE_free(resp);
    OCSP_REQUEST_free(req);
    return res;
}

static sslcodes_ocsp_result_e sslcodes_ocsp_run(sslcodes_ocsp_query *q,
                                                X509_STORE_CTX *store)
{
    X509 *issuer = X509_STORE_CTX_get0_current_issuer(store);
    unsigned char key[SSLCODES_OCSP_KEY_LEN];
    sslcodes_ocsp_result_e res;
    OCSP_CERTID *id;
    int keyed;

    if (!q->cert || !issuer) {
        q->url = "(none)";
        q->why = "its issuer is not known";
        return SSLCODES_OCSP_BAD_ANSWER;
    }
    if ((res = sslcodes_ocsp_responder(q)) != SSLCODES_OCSP_GOOD) {
        return res;
    }
    if (!(id = OCSP_cert_to_id(NULL, q->cert, issuer))) {
        q->why = "cannot make its OCSP certificate id";
        return SSLCODES_OCSP_BAD_ANSWER;
    }
    keyed = sslcodes_ocsp_cache_on() && sslcodes_ocsp_key(q, id, key);
    if (keyed && sslcodes_ocsp_recall(q, key)) {
        q->cached = 1;
        res = (sslcodes_ocsp_result_e)q->entry.status;
    }
    else {
        res = sslcodes_ocsp_ask(q, store, id);
        if (keyed && res <= SSLCODES_OCSP_UNKNOWN) {
            sslcodes_ocsp_keep(q, key);
        }
    }
    OCSP_CERTID_free(id);
    return res;
}

/* --- The verdict --------------------------------------------------------- */

/* "depth 0, serial 1004, subject /CN=..." for the log. */
static const char *sslcodes_ocsp_cert_name(sslcodes_ocsp_query *q)
{
    char subject[256] = "?";
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(q->cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    const char *name;

    X509_NAME_oneline(X509_get_subject_name(q->cert), subject,
                      sizeof(subject));
    name = apr_psprintf(q->p, "depth %d, serial %s, subject %s", q->depth,
                        hex ? hex : "?", subject);
    OPENSSL_free(hex);
    BN_free(bn);
    return ap_escape_logitem(q->p, name);
}

/* One info line per failure, saying why; the X.509 error for it. */
static long sslcodes_ocsp_verdict(sslcodes_ocsp_query *q,
                                  sslcodes_ocsp_result_e res)
{
    const char *from = q->cached ? " (cached answer)" : "";

    switch (res) {
    case SSLCODES_OCSP_GOOD:
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, q->c,
                      "OCSP: client certificate good, says %s%s", q->url,
                      from);
        return X509_V_OK;
    case SSLCODES_OCSP_REVOKED:
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, q->c, SSLCODES_LOGNO(0501)
                      "OCSP: client certificate (%s) is revoked, reason %s, "
                      "says %s%s", sslcodes_ocsp_cert_name(q),
                      q->entry.reason >= 0
                          ? OCSP_crl_reason_str(q->entry.reason)
                          : "not given", q->url, from);
        return X509_V_ERR_CERT_REVOKED;
    case SSLCODES_OCSP_UNKNOWN:
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, q->c, SSLCODES_LOGNO(0502)
                      "OCSP: client certificate (%s) is unknown to %s%s",
                      sslcodes_ocsp_cert_name(q), q->url, from);
        return SSLCODES_ERR_OCSP_UNKNOWN;
    case SSLCODES_OCSP_NO_URL:
        if (q->sc->ocsp_no_url_ok) {
            ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, q->c,
                          "OCSP: no responder for the client certificate; "
                          "no_ocsp_for_cert_ok lets it pass");
            return X509_V_OK;
        }
        /* fall through */
    case SSLCODES_OCSP_BAD_URL:
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, q->c, SSLCODES_LOGNO(0503)
                      "OCSP: client certificate (%s) cannot be checked: %s",
                      sslcodes_ocsp_cert_name(q), q->why);
        return SSLCODES_ERR_OCSP_FAILED;
    case SSLCODES_OCSP_UNREACHABLE:
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, q->c, SSLCODES_LOGNO(0504)
                      "OCSP: responder %s unreachable (%s) for client "
                      "certificate (%s)", q->url, q->why,
                      sslcodes_ocsp_cert_name(q));
        return SSLCODES_ERR_OCSP_FAILED;
    case SSLCODES_OCSP_TIMEOUT:
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, q->c, SSLCODES_LOGNO(0505)
                      "OCSP: responder %s did not answer within %" 
                      APR_TIME_T_FMT " ms for client certificate (%s)",
                      q->url, apr_time_as_msec(q->sc->ocsp_timeout),
                      sslcodes_ocsp_cert_name(q));
        return SSLCODES_ERR_OCSP_FAILED;
    default:
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, q->c, SSLCODES_LOGNO(0506)
                      "OCSP: responder %s gave no usable answer for client "
                      "certificate (%s): %s", q->url,
                      sslcodes_ocsp_cert_name(q), q->why);
        return SSLCODES_ERR_OCSP_FAILED;
    }
}

/*
 * Check the certificate the verify callback is at.  Returns X509_V_OK,
 * or the error to record: X509_V_ERR_CERT_REVOKED, or an OCSP error for
 * an unknown certificate or no usable answer.  OpenSSL's error queue is
 * left as it was: an error left behind would end the handshake.
 */
long sslcodes_ocsp_check(server_rec *s, conn_rec *c, X509_STORE_CTX *store)
{
    sslcodes_ocsp_query q;
    sslcodes_ocsp_result_e res;
    long err;

    memset(&q, 0, sizeof(q));
    q.cert = X509_STORE_CTX_get_current_cert(store);
    /* A self-issued certificate is a trust anchor: there is no one to
     * ask about it. */
    if (q.cert && X509_check_issued(q.cert, q.cert) == X509_V_OK) {
        return X509_V_OK;
    }
    q.c = c;
    q.s = s;
    q.sc = sslcodes_srv(s);
    q.depth = X509_STORE_CTX_get_error_depth(store);
    q.url = "(none)";
    apr_pool_create(&q.p, c->pool);
    ERR_set_mark();
    res = sslcodes_ocsp_run(&q, store);
    ERR_pop_to_mark();
    err = q.cert ? sslcodes_ocsp_verdict(&q, res) : SSLCODES_ERR_OCSP_FAILED;
    apr_pool_destroy(q.p);
    return err;
}

#endif /* OPENSSL_NO_OCSP */
