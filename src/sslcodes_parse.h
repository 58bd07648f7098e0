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
 * sslcodes_parse.h: the parsers that look at hostile bytes, with no httpd
 * types, so that unit tests and fuzzers can call them directly.  They
 * live in sslcodes_parse_*.c, a file for each thing parsed.
 */

#ifndef SSLCODES_PARSE_H
#define SSLCODES_PARSE_H

#include <stddef.h>

/* Only the module record leaves the shared object. */
#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility push(hidden)
#endif

/* --- First bytes of a connection ---------------------------------------- */

typedef enum {
    SSLCODES_FIRST_MORE = 0,  /* undecided: wait until *need bytes are there */
    SSLCODES_FIRST_TLS,       /* a TLS record (or SSLv2 hello) comes first   */
    SSLCODES_FIRST_PLAIN,     /* anything else: plain text                   */
    SSLCODES_FIRST_UNKNOWN    /* a PROXY header too large to look past       */
} sslcodes_first_e;

/* The most bytes the classifier will ever ask for.  A PROXY v2 header
 * whose TLVs are longer than this is left to mod_ssl and mod_remoteip. */
#define SSLCODES_PEEK_MAX 1024

/*
 * Classify the first LEN bytes of a connection.  PROXY protocol v1 and v2
 * headers in front are looked past.  With FINAL set the peer sent all it
 * will send (EOF), so an undecided prefix is settled by its first byte.
 * On SSLCODES_FIRST_MORE, *need is the byte count that would decide.
 */
sslcodes_first_e sslcodes_classify(const unsigned char *buf, size_t len,
                                   int final, size_t *need);

/* --- PROXY protocol destination ------------------------------------------ */

typedef enum {
    SSLCODES_PROXY_NONE = 0,  /* none given: the connection's own applies */
    SSLCODES_PROXY_TCP4,
    SSLCODES_PROXY_TCP6
} sslcodes_proxy_family_e;

/* Where the client connected to, as the load balancer reports it. */
typedef struct {
    size_t header_len;               /* bytes of the PROXY header         */
    sslcodes_proxy_family_e family;  /* of the destination                */
    unsigned char addr[16];          /* network order; TCP4 uses 4 bytes  */
    unsigned port;                   /* 1..65535; 0 when family is NONE   */
} sslcodes_proxy_dst;

/*
 * The destination address and port of the PROXY v1 or v2 header at the
 * start of the LEN bytes at BUF; the bytes after the header are not looked
 * at.  A v2 LOCAL command, v1 UNKNOWN, another family or a malformed
 * header give SSLCODES_PROXY_NONE.  Returns the header's length, as
 * sslcodes_classify() skips it, or 0 when BUF does not start with a whole
 * PROXY header; out->header_len is the same.
 */
size_t sslcodes_proxy_dest(const unsigned char *buf, size_t len,
                           sslcodes_proxy_dst *out);

/* --- SSLCodesErrorDocument arguments ------------------------------------- */

#define SSLCODES_CODE_MIN 494
#define SSLCODES_CODE_MAX 497
#define SSLCODES_NCODES   (SSLCODES_CODE_MAX - SSLCODES_CODE_MIN + 1)

typedef enum {
    SSLCODES_ACT_DEFAULT = 0,  /* the built-in page                          */
    SSLCODES_ACT_LOCAL,        /* internal redirect to a local URL           */
    SSLCODES_ACT_EXTERNAL,     /* Location: URL with a 3xx                   */
    SSLCODES_ACT_TEXT,         /* a literal body                             */
    SSLCODES_ACT_HTTPS,        /* the same URL over https (497 only)         */
    SSLCODES_ACT_CLOSE         /* send nothing and close, as nginx's 444     */
} sslcodes_act_kind_e;

typedef struct {
    unsigned codes;            /* bit (code - SSLCODES_CODE_MIN) per code    */
    int status;                /* =STATUS, 0 when none was given             */
    sslcodes_act_kind_e kind;
    const char *arg;           /* URL or text; NULL for default, https and
                                * close                                      */
    int is_expr;               /* arg holds %{...}: an ap_expr string        */
} sslcodes_action_spec;

/*
 * Parse the words of one SSLCodesErrorDocument line.  QUOTED[i] says that
 * word i was written in quotes: a quoted "default", "https" or "close" is
 * text.  Returns
 * NULL on success, else a message; *bad is then the index of the word
 * at fault, or -1 when the line as a whole is wrong.
 */
const char *sslcodes_action_parse(int argc, const char *const *argv,
                                  const int *quoted,
                                  sslcodes_action_spec *out, int *bad);

/* --- nginx's $host and $request_uri ------------------------------------- */

/*
 * Normalise a Host value as nginx's $host does: lower-case, port removed.
 * IPv6 literals keep their brackets.  Writes at most OUTLEN - 1 bytes and
 * a NUL.  Returns the length written, or -1 when the value is not a valid
 * host (bad characters, empty, or too long for OUT).
 */
int sslcodes_host_normalize(const char *in, size_t inlen,
                            char *out, size_t outlen);

/*
 * The request-target as nginx's $request_uri has it, which always starts
 * with '/': origin-form as sent; for absolute-form ("http://host/p?q") the
 * part from the path on, or from the query on ("?q", which then needs a
 * "/" in front); "/" for every other form (authority-form, asterisk-form,
 * garbage).  Returns a pointer into UNPARSED that starts with '/' or '?',
 * or the string "/".
 */
const char *sslcodes_request_uri(const char *unparsed);

/*
 * The https action's Location: "https://" HOST, ":" PORT unless it is 443,
 * then TARGET's path and query as sslcodes_request_uri() gives them, so the
 * result always has HOST's authority followed by '/'.  HOST must already be
 * one of this vhost's names.  Writes it with a NUL into OUT when it fits
 * (OUTLEN > the length); returns the length either way, like snprintf.
 */
size_t sslcodes_https_location(char *out, size_t outlen, const char *host,
                               unsigned port, const char *target);

/* --- OCSP responder URLs ------------------------------------------------- */

#define SSLCODES_URL_HOST_MAX 256
#define SSLCODES_URL_PORT_MAX 6
#define SSLCODES_URL_PATH_MAX 1024

/* An http:// URL split for a request: "host:port" to connect to and for
 * Host, and the path with its query for the request line.  An IPv6
 * literal keeps its brackets, as both uses want it. */
typedef struct {
    char host[SSLCODES_URL_HOST_MAX];
    char port[SSLCODES_URL_PORT_MAX];
    char path[SSLCODES_URL_PATH_MAX];
} sslcodes_url;

/*
 * Split an OCSP responder URL, which may come from a client certificate.
 * Only "http://host[:port][/path][?query]" is accepted: no user info, no
 * control characters or spaces, a port from 1 to 65535 (80 if none), and
 * every part short enough for OUT.  A fragment is dropped.  Returns 0, or
 * -1 when the URL cannot be used.
 */
int sslcodes_url_parse(const char *url, size_t len, sslcodes_url *out);

/* --- OCSP answers in the shared cache ------------------------------------ */

/* What is kept of a verified OCSP answer: the verdict and its validity,
 * not the response, so a hit costs no signature check. */
typedef struct {
    int status;             /* 0 good, 1 revoked, 2 unknown (RFC 6960)     */
    int reason;             /* revocation reason 0..10, -1 when none       */
    long long this_update;  /* seconds since the epoch                     */
    long long next_update;  /* seconds since the epoch, 0 when absent      */
} sslcodes_ocsp_entry;

#define SSLCODES_OCSP_ENTRY_LEN 19

void sslcodes_ocsp_entry_encode(const sslcodes_ocsp_entry *e,
                                unsigned char *out);

/* Returns 0, or -1 when BUF is not an entry this version wrote. */
int sslcodes_ocsp_entry_decode(const unsigned char *buf, size_t len,
                               sslcodes_ocsp_entry *e);

/*
 * Until when an answer may be used, in seconds since the epoch: its
 * nextUpdate, and no later than thisUpdate + MAXAGE when MAXAGE >= 0
 * (SSLOCSPResponseMaxAge).  0 when it may not be kept at all: without
 * nextUpdate the responder says newer information is always available.
 */
long long sslcodes_ocsp_entry_expiry(const sslcodes_ocsp_entry *e,
                                     long maxage);


#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility pop
#endif

#endif /* SSLCODES_PARSE_H */
