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
 * sslcodes_limits.c: nginx's other codes.
 *
 *   494  a header field over LimitRequestFieldSize, or more fields than
 *        LimitRequestFields (SSLCodesHeaderTooLarge)
 *   444  a request whose status became 444 gets no answer at all
 *   499  the client left before the first byte of the answer of a
 *        backend (SSLCodesClientClosed; the watch that aborts the
 *        backend at once is sslcodes_watch.c)
 *
 * All three arise where core builds or sends the answer: httpd rejects an
 * oversized header while reading it and runs no post_read_request hook
 * for it, and 444 and 499 can arise in any phase.  494 is recognised here
 * for sslcodes_decide(); 444 and 499 are silenced here, by SSLCODES_DROP.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "apr_strings.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

/* What core's request reader notes for the two limits of 494
 * (server/protocol.c, ap_get_mime_headers_core()). */
#define SSLCODES_NOTE_FIELD_SIZE \
    "Size of a request header field exceeds server limit."
#define SSLCODES_NOTE_FIELD_COUNT \
    "The number of request header fields exceeds this server's limit."

/* As much of the offending header line as the log shows, like nginx. */
#define SSLCODES_LINE_LOG 64

/* The start of the header line being read (SSLCODES_LINES). */
typedef struct {
    char buf[SSLCODES_LINE_LOG + 1];
    apr_size_t len;
    int more;                         /* the line went on past buf        */
    int at_start;                     /* the next bytes start a new line  */
    server_rec *base;                 /* the address's default vhost, and */
    server_rec *reader;               /* its copy that reads the header   */
    const server_rec *read_by;        /* whose limits core applies        */
    int read;                         /* the header was read whole        */
} sslcodes_lines;

/* SSLCODES_DROP: what it does with what reaches it. */
typedef enum {
    SSLCODES_OUT_CHECK = 1,           /* 499: look at the socket first   */
    SSLCODES_OUT_DROP,                /* 444: send nothing               */
    SSLCODES_OUT_DROP_499             /* 499: send nothing, and keep 499 */
} sslcodes_out_e;

static ap_filter_rec_t *sslcodes_lines_filter;
static ap_filter_rec_t *sslcodes_out_filter;

/* --- 494: remembering the header line ------------------------------------ */

/*
 * Core reads each header line into a buffer of its own and forgets it
 * when the line is too long, so the start of every line is noted here as
 * it goes by.  It costs a copy of at most SSLCODES_LINE_LOG bytes a line,
 * on servers with SSLCodesHeaderTooLarge on, and ends with the header.
 */
static apr_status_t sslcodes_lines_in(ap_filter_t *f, apr_bucket_brigade *bb,
                                      ap_input_mode_t mode,
                                      apr_read_type_e block,
                                      apr_off_t readbytes)
{
    sslcodes_lines *ln = f->ctx;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    apr_bucket *b;
    const char *data;
    apr_size_t len, n;

    if (rv != APR_SUCCESS || mode != AP_MODE_GETLINE) {
        return rv;
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_METADATA(b)
            || apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ)
               != APR_SUCCESS || len == 0) {
            continue;
        }
        if (ln->at_start) {
            ln->len = 0;
            ln->more = 0;
            ln->at_start = 0;
        }
        n = SSLCODES_LINE_LOG - ln->len;
        n = len < n ? len : n;
        memcpy(ln->buf + ln->len, data, n);
        ln->len += n;
        ln->more |= n < len;
        ln->at_start = data[len - 1] == '\n';
    }
    /* The empty line after the fields: nothing more to note. */
    if (ln->at_start && f->r->the_request
        && ((ln->len == 1 && ln->buf[0] == '\n')
            || (ln->len == 2 && ln->buf[0] == '\r' && ln->buf[1] == '\n'))) {
        ap_remove_input_filter(f);
    }
    return APR_SUCCESS;
}

/* The virtual host whose SSLCodesHeaderTooLarge, limits and 494 document
 * apply to R's header, as nginx's server block does: on TLS, the one the
 * handshake chose by SNI; on plain HTTP, the address's default, which is
 * R's server while the header is read. */
static server_rec *sslcodes_limits_server(request_rec *r)
{
    server_rec *hs = sslcodes_tls_server(r->connection);

    return hs ? hs : r->server;
}

/*
 * The server that reads the header of C's requests, where S, the vhost
 * SNI chose, lowers the LimitRequestFieldSize or LimitRequestFields of
 * BASE, the address's default vhost: a copy of BASE with the lower limits.
 * Core applies them itself, to the byte, and everything else stays
 * stock: the request line, HttpProtocolOptions, choosing the vhost by
 * Host, any other refusal.  Never higher than BASE's: core reads the
 * header before Host is known, and a higher limit would hold for every
 * vhost that a client then names in Host.  One copy per connection (SNI
 * does not change on it), so that a pointer to it that httpd keeps for
 * the connection stays good.  NULL where S lowers nothing.
 */
static server_rec *sslcodes_limits_reader(conn_rec *c, server_rec *base,
                                          const server_rec *s)
{
    int size = s->limit_req_fieldsize < base->limit_req_fieldsize
               ? s->limit_req_fieldsize : base->limit_req_fieldsize;
    int fields = base->limit_req_fields;    /* 0: no limit */
    server_rec *reader = NULL;

    if (s->limit_req_fields && (!fields || s->limit_req_fields < fields)) {
        fields = s->limit_req_fields;
    }
    if (size == base->limit_req_fieldsize
        && fields == base->limit_req_fields) {
        return NULL;
    }
    apr_pool_userdata_get((void **)&reader, "sslcodes_reader", c->pool);
    if (!reader) {
        reader = apr_pmemdup(c->pool, base, sizeof(*reader));
        reader->limit_req_fieldsize = size;
        reader->limit_req_fields = fields;
        apr_pool_userdata_setn(reader, "sslcodes_reader", NULL, c->pool);
    }
    return reader;
}

/*
 * For a request read from the wire; HTTP/2 streams arrive parsed (and
 * mod_http2 reads them with the limits of the vhost SNI chose itself).
 * Core reads the header with the limits of R's server, which is the
 * address's default vhost until Host has been read: where the vhost SNI
 * chose has lower ones, R's server is sslcodes_limits_reader() until then.
 * The 494 itself is answered by the vhost SNI chose
 * (sslcodes_limits_too_large()); a request that is read goes back to the
 * default vhost itself (sslcodes_limits_read()).
 */
void sslcodes_limits_note_lines(request_rec *r)
{
    conn_rec *c = r->connection;
    server_rec *s, *reader;
    sslcodes_lines *ln;

    if (c->master || !sslcodes_srv(c->base_server)->watch_494) {
        return;
    }
    s = sslcodes_limits_server(r);
    if (!sslcodes_srv(s)->header_too_large) {
        return;
    }
    ln = apr_pcalloc(r->pool, sizeof(*ln));
    ln->at_start = 1;
    if (s != r->server
        && (reader = sslcodes_limits_reader(c, r->server, s)) != NULL) {
        ln->base = r->server;
        ln->reader = reader;
        r->server = reader;
    }
    ln->read_by = r->server;
    ap_add_input_filter_handle(sslcodes_lines_filter, ln, r, c);
    apr_pool_userdata_setn(ln, "sslcodes_lines", NULL, r->pool);
}

/* First of all post_read_request hooks: R's header was read whole (a
 * field too long later, in a chunked body's trailer, is no 494), and a
 * request whose Host named no vhost goes from the copy that read its
 * header back to the default vhost itself. */
int sslcodes_limits_read(request_rec *r)
{
    sslcodes_lines *ln = NULL;

    if (r->prev || r->connection->master
        || !sslcodes_srv(r->connection->base_server)->watch_494) {
        return DECLINED;
    }
    apr_pool_userdata_get((void **)&ln, "sslcodes_lines", r->pool);
    if (ln) {
        ln->read = 1;
        if (ln->reader && r->server == ln->reader) {
            r->server = ln->base;
        }
    }
    return DECLINED;
}

/* --- 494: the decision --------------------------------------------------- */

/* "Name: value", cut to what the log shows, escaped. */
static const char *sslcodes_log_line(request_rec *r, const char *line,
                                     apr_size_t len, int more)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
        more = 0;
    }
    if (len > SSLCODES_LINE_LOG) {
        len = SSLCODES_LINE_LOG;
        more = 1;
    }
    return apr_pstrcat(r->pool, ap_escape_logitem(r->pool,
                       apr_pstrmemdup(r->pool, line, len)),
                       more ? "..." : "", NULL);
}

typedef struct {
    request_rec *r;
    apr_size_t limit;
    const char *found;
} sslcodes_long_field;

static int sslcodes_find_long(void *v, const char *key, const char *value)
{
    sslcodes_long_field *lf = v;
    const char *line;

    if (!value || strlen(value) <= lf->limit) {
        return 1;
    }
    line = apr_pstrcat(lf->r->pool, key, ": ", value, NULL);
    lf->found = sslcodes_log_line(lf->r, line, strlen(line), 0);
    return 0;
}

/* nginx's words for what the client sent. */
static const char *sslcodes_494_event(request_rec *r, const char *notes)
{
    sslcodes_lines *ln = NULL;
    const server_rec *by;
    sslcodes_long_field lf = { r, 0, NULL };

    if (!notes) {
        return "client sent too large request headers";      /* HTTP/2 */
    }
    /* The limits core applied, which the vhost that answers may not have
     * (sslcodes_limits_reader()). */
    apr_pool_userdata_get((void **)&ln, "sslcodes_lines", r->pool);
    by = ln ? ln->read_by : r->server;
    if (strcmp(notes, SSLCODES_NOTE_FIELD_COUNT) == 0) {
        return apr_psprintf(r->pool, "client sent too many header lines "
                            "(LimitRequestFields %d)", by->limit_req_fields);
    }
    lf.limit = (apr_size_t)by->limit_req_fieldsize;
    if (ln && ln->len > 2) {
        lf.found = sslcodes_log_line(r, ln->buf, ln->len, ln->more);
    }
    else {
        /* Too long only once core merged repeated fields. */
        apr_table_do(sslcodes_find_long, &lf, r->headers_in, NULL);
    }
    return apr_pstrcat(r->pool, "client sent too long header line: \"",
                       lf.found ? lf.found : "", "\"", NULL);
}

/*
 * Was R rejected by httpd's request reader for one of 494's limits?  Over
 * HTTP/1.x core says so in error-notes (its status is 400, or 302 when
 * core's ErrorDocument 400 is an external URL).  mod_http2 answers 431
 * for the same limits, before any URL is mapped; a handler's own 431 has
 * a file name by then.  *REASON, when asked for, gets nginx's words.
 */
int sslcodes_limits_too_large(request_rec *r, const char **reason)
{
    const char *notes = NULL;
    sslcodes_lines *ln = NULL;
    server_rec *s;
    int yes;

    if (r->prev || r->main || !r->the_request) {
        return 0;
    }
    s = sslcodes_limits_server(r);
    if (!sslcodes_srv(s)->header_too_large) {
        return 0;
    }
    if (r->connection->master) {
        yes = r->status == HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE
              && !r->filename;
    }
    else {
        apr_pool_userdata_get((void **)&ln, "sslcodes_lines", r->pool);
        notes = apr_table_get(r->notes, "error-notes");
        yes = ln && !ln->read
              && notes && (strcmp(notes, SSLCODES_NOTE_FIELD_SIZE) == 0
                           || strcmp(notes, SSLCODES_NOTE_FIELD_COUNT) == 0);
    }
    if (yes && reason) {
        /* The refusal was made under the address's default vhost (or its
         * copy that read the header): the vhost SNI chose answers and
         * logs it. */
        if (r->server != s) {
            r->server = s;
            r->per_dir_config = s->lookup_defaults;
        }
        *reason = sslcodes_494_event(r, notes);
    }
    return yes;
}

/* --- 444 and 499: sending nothing ---------------------------------------- */

static int sslcodes_has_out_filter(request_rec *r)
{
    ap_filter_t *f;

    for (f = r->proto_output_filters; f; f = f->next) {
        if (f->frec == sslcodes_out_filter) {
            return 1;
        }
    }
    return 0;
}

/*
 * SSLCODES_DROP sits after the protocol filters (HTTP_HEADER, or
 * mod_http2's response filter), so it sees the answer complete and before
 * any of it reaches the connection.  Over HTTP/1.x nothing passes and the
 * connection is closed without a byte.  An HTTP/2 stream gets its EOS
 * before any response, which mod_http2 answers with RST_STREAM for that
 * stream alone.
 */
static void sslcodes_out_add(request_rec *r, sslcodes_out_e what)
{
    ap_filter_t *f;

    for (f = r->proto_output_filters; f; f = f->next) {
        if (f->frec == sslcodes_out_filter) {
            if (what == SSLCODES_OUT_DROP) {
                f->ctx = (void *)(apr_uintptr_t)what;
            }
            return;
        }
    }
    ap_add_output_filter_handle(sslcodes_out_filter,
                                (void *)(apr_uintptr_t)what, r,
                                r->connection);
}

static void sslcodes_abort(conn_rec *c)
{
    if (!c->master) {
        /* Core writes nothing more, and closes without lingering. */
        c->keepalive = AP_CONN_CLOSE;
        c->aborted = 1;
    }
}

static apr_status_t sslcodes_drop(ap_filter_t *f, apr_bucket_brigade *bb)
{
    apr_bucket *b, *next;

    /* The log's %b speaks of what went out: nothing. */
    if (f->r) {
        f->r->bytes_sent = 0;
        /* A handler whose backend was cut may answer with an error after
         * 499 was decided (mod_proxy's 502, mod_cgid's 500): the log says
         * what the client got. */
        if ((apr_uintptr_t)f->ctx == SSLCODES_OUT_DROP_499) {
            f->r->status = SSLCODES_CLIENT_CLOSED;
            f->r->status_line = NULL;
        }
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (APR_BUCKET_IS_EOS(b) && f->r) {
            /* The answer is complete: the worker is no longer the
             * request's, and the watch lets it be. */
            sslcodes_watch_end(f->r);
        }
        if (!(f->c->master && APR_BUCKET_IS_EOS(b))) {
            apr_bucket_delete(b);
        }
    }
    if (APR_BRIGADE_EMPTY(bb)) {
        return APR_SUCCESS;
    }
    return ap_pass_brigade(f->next, bb);
}

static void sslcodes_client_closed(request_rec *r)
{
    r->status = SSLCODES_CLIENT_CLOSED;
    r->status_line = NULL;
    apr_table_setn(r->subprocess_env, "SSLCODES_STATUS", "499");
    sslcodes_status_count(SSLCODES_CLIENT_CLOSED);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0203)
                  "client prematurely closed connection (vhost %s:%u, "
                  "request \"%s\"): 499", r->server->server_hostname,
                  r->connection->local_addr->port,
                  ap_escape_logitem(r->pool, r->the_request));
    sslcodes_abort(r->connection);
}

/* Did R earn an answer of the module's, counted when it was decided?
 * (See sslcodes_watch_499().) */
static int sslcodes_earned(request_rec *r)
{
    return sslcodes_verdict_of(r)
        || apr_table_get(r->notes, SSLCODES_COUNTED_NOTE);
}

static apr_status_t sslcodes_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    if ((apr_uintptr_t)f->ctx != SSLCODES_OUT_CHECK) {
        return sslcodes_drop(f, bb);
    }
    /* Decided when the answer is written, not when the watch was set: a
     * subrequest's 496 passed on by its parent is answered (and counted)
     * only after the watch was put in place. */
    if (!f->r || sslcodes_earned(f->r)
        || !sslcodes_watch_answer(f->r, sslcodes_client_gone(f->c))) {
        /* The first bytes go out: 499 no longer applies. */
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    sslcodes_client_closed(f->r);
    f->ctx = (void *)(apr_uintptr_t)SSLCODES_OUT_DROP_499;
    return sslcodes_drop(f, bb);
}

/* R's status became 444: nothing goes out. */
void sslcodes_limits_close(request_rec *r)
{
    /* A 49x answered by the close action was counted and logged as such. */
    if (!sslcodes_verdict_of(r)) {
        apr_table_setn(r->notes, SSLCODES_COUNTED_NOTE, "444");
        sslcodes_status_count(SSLCODES_CLOSE);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0202)
                      "closing %s without a response (vhost %s:%u, "
                      "request \"%s\"): 444",
                      r->connection->master ? "the stream" : "the connection",
                      r->server->server_hostname,
                      r->connection->local_addr->port,
                      ap_escape_logitem(r->pool, r->the_request));
    }
    sslcodes_abort(r->connection);
    sslcodes_out_add(r, SSLCODES_OUT_DROP);
}

/*
 * A request waits on a backend when its handler is mod_proxy's (every
 * scheme, balancers, SetHandler "proxy:...") or a CGI's (mod_cgid, or
 * mod_cgi).  Other handlers are left alone: a static file, or a handler
 * that waits on a database pool, is served as stock serves it.
 */
static int sslcodes_backend_handler(const request_rec *r)
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

/*
 * A request is counted once: by the code it earned.  One that earned an
 * answer of the module's (494 to 497, the stock 400 for plain HTTP, 444)
 * was counted and logged as that code when it was decided, before a byte
 * was written; a client that leaves afterwards does not make it a 499 too.
 * 499 is for what waits on a backend (sslcodes_backend_handler()): a
 * static file or a quick handler is served as stock serves it, to a
 * half-closed client too.  An error document of a request whose client
 * the watch saw leave is not sent either.
 */
static int sslcodes_watch_499(request_rec *r, int mode)
{
    /* Most requests leave at the first test: no backend, and no internal
     * redirect (an error document) after a client left. */
    if (!(mode != SSLCODES_CLOSED_OFF && sslcodes_backend_handler(r))
        && !(r->prev && sslcodes_watch_saw_leave(r))) {
        return 0;
    }
    return !r->main && !sslcodes_earned(r) && !sslcodes_has_out_filter(r);
}

/* Watch for 499 where it applies: see sslcodes_out().  With "on", the
 * client is watched while the backend is awaited (sslcodes_watch.c). */
void sslcodes_limits_watch(request_rec *r)
{
    const sslcodes_dir_conf *dc = sslcodes_dir(r);
    int mode = dc && dc->client_closed != SSLCODES_UNSET
               ? dc->client_closed : SSLCODES_CLOSED_OFF;

    if (sslcodes_watch_499(r, mode)) {
        sslcodes_out_add(r, SSLCODES_OUT_CHECK);
        if (mode == SSLCODES_CLOSED_ABORT) {
            sslcodes_watch_request(r);
        }
    }
}

void sslcodes_limits_register(void)
{
    sslcodes_lines_filter =
        ap_register_input_filter("SSLCODES_LINES", sslcodes_lines_in, NULL,
                                 AP_FTYPE_PROTOCOL);
    /* After every protocol filter, before the connection's. */
    sslcodes_out_filter =
        ap_register_output_filter("SSLCODES_DROP", sslcodes_out, NULL,
                                  AP_FTYPE_PROTOCOL + 5);
}
