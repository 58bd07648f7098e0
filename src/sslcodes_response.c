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
 * sslcodes_response.c: answer a verdict (see sslcodes_decide()): the
 * built-in page or the SSLCodesErrorDocument of the vhost whose settings
 * apply, an https redirect, or the close action; the stock 400 and 421;
 * and httpd's own page where an error document must not run.  Nothing
 * here asks a part again: all it needs is in the verdict.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "http_vhost.h"
#include "ap_expr.h"

#include "apr_strings.h"

#include "sslcodes_private.h"

APLOG_USE_MODULE(sslcodes);

typedef struct {
    const char *status;       /* the code as text, for SSLCODES_STATUS */
    const char *status_line;  /* native wire status line               */
    const char *text;         /* native page's sentence                */
    const char *nginx_text;   /* nginx page's sentence                 */
} sslcodes_code_info;

static const sslcodes_code_info sslcodes_codes[SSLCODES_NCODES] = {
    { "494", "494 Request Header Too Large",
      "Request Header Or Cookie Too Large",
      "Request Header Or Cookie Too Large" },
    { "495", "495 SSL Certificate Error",
      "The SSL certificate error",
      "The SSL certificate error" },
    { "496", "496 SSL Certificate Required",
      "A client certificate is required",
      "No required SSL certificate was sent" },
    { "497", "497 HTTP Request Sent to HTTPS Port",
      "The plain HTTP request was sent to HTTPS port",
      "The plain HTTP request was sent to HTTPS port" }
};

#define sslcodes_info(code) (&sslcodes_codes[(code) - SSLCODES_CODE_MIN])

/* =STATUS must be a status httpd has a status line for; anything else
 * would go out as "500 Internal Server Error". */
const char *sslcodes_check_status(int status)
{
    if (status != HTTP_INTERNAL_SERVER_ERROR
        && ap_index_of_response(status)
           == ap_index_of_response(HTTP_INTERNAL_SERVER_ERROR)) {
        return "httpd has no status line for this =STATUS";
    }
    return NULL;
}

/* --- The pieces of an answer --------------------------------------------- */

static const char *sslcodes_default_page(request_rec *r, int code, int wire)
{
    const sslcodes_code_info *ci = sslcodes_info(code);

    if (wire == SSLCODES_WIRE_NGINX) {
        /* nginx's layout, with this server's own footer. */
        return apr_pstrcat(r->pool,
                           "<html>\r\n<head><title>400 ", ci->nginx_text,
                           "</title></head>\r\n<body>\r\n"
                           "<center><h1>400 Bad Request</h1></center>\r\n"
                           "<center>", ci->nginx_text, "</center>\r\n"
                           "<hr><center>",
                           ap_escape_html(r->pool, ap_get_server_banner()),
                           "</center>\r\n</body>\r\n</html>\r\n", NULL);
    }
    return apr_pstrcat(r->pool, "<html><body>", ci->text, "</body></html>",
                       NULL);
}

static int sslcodes_is_this_vhost(request_rec *r, const char *host)
{
    const server_rec *s = r->server;
    const char *const *names;
    int i;

    if (s->server_hostname && strcasecmp(host, s->server_hostname) == 0) {
        return 1;
    }
    if (s->names) {
        names = (const char *const *)s->names->elts;
        for (i = 0; i < s->names->nelts; i++) {
            if (strcasecmp(host, names[i]) == 0) {
                return 1;
            }
        }
    }
    if (s->wild_names) {
        names = (const char *const *)s->wild_names->elts;
        for (i = 0; i < s->wild_names->nelts; i++) {
            if (ap_strcasecmp_match(host, names[i]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* The same URL over https.  The host is the client's only when it names
 * this virtual host, and whatever the request target, the path starts
 * right after the authority: the redirect cannot be pointed elsewhere. */
static const char *sslcodes_https_url(request_rec *r, apr_port_t port)
{
    const char *host = sslcodes_host(r);
    const char *target = sslcodes_original(r)->unparsed_uri;
    apr_size_t len;
    char *loc;

    if (!sslcodes_is_this_vhost(r, host)) {
        host = r->server->server_hostname;
    }
    len = sslcodes_https_location(NULL, 0, host, port, target);
    loc = apr_palloc(r->pool, len + 1);
    sslcodes_https_location(loc, len + 1, host, port, target);
    return loc;
}

/* Evaluate an action's argument; NULL (logged) when it cannot be used. */
static const char *sslcodes_action_arg(request_rec *r,
                                       const sslcodes_action *act)
{
    const char *err = NULL, *val;

    if (!act->expr) {
        return act->spec.arg;
    }
    val = ap_expr_str_exec(r, act->expr, &err);
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLCODES_LOGNO(0103)
                      "SSLCodesErrorDocument: cannot evaluate '%s': %s; "
                      "sending the default page", act->spec.arg, err);
        return NULL;
    }
    return val;
}

/* A Location must be one header line: no control characters at all. */
static int sslcodes_is_safe_location(const char *loc)
{
    const unsigned char *p;

    for (p = (const unsigned char *)loc; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return *loc != '\0';
}

/* Send nothing more on this connection after the answer, and let no part
 * of the request body reach an error document: what was not read is
 * drained by the lingering close.  An HTTP/2 stream is answered alone. */
static void sslcodes_finish_connection(request_rec *r)
{
    if (!r->connection->master) {
        r->connection->keepalive = AP_CONN_CLOSE;
        /* Nor may a local error document switch it to another protocol
         * (core's handler acts on "Upgrade: h2c"). */
        apr_table_unset(r->headers_in, "Upgrade");
    }
    apr_table_unset(r->headers_in, "Content-Length");
    apr_table_unset(r->headers_in, "Transfer-Encoding");
}

/*
 * Tell core's error machinery what to send for STATUS on this request
 * only.  ap_custom_response() guesses text from URL by the first byte, so
 * a text that starts with '/' would become a redirect; core keeps text
 * with a leading '"', and that is written here directly.
 */
static void sslcodes_custom_response(request_rec *r, int status,
                                     const char *what, int local)
{
    core_request_config *conf;

    ap_custom_response(r, status, local ? what : "\"");
    if (!local) {
        conf = ap_get_core_module_config(r->request_config);
        conf->response_code_strings[ap_index_of_response(status)] =
            apr_pstrcat(r->pool, "\"", what, NULL);
    }
}

/*
 * The close action: 444, which sslcodes_limits.c turns into no answer at
 * all.  The empty text keeps core from running a local ErrorDocument for
 * the 500 slot that 444 shares; the request still counts as its 49x only.
 */
static int sslcodes_respond_close(request_rec *r, sslcodes_verdict *v)
{
    v->status = SSLCODES_CLOSE;
    v->status_line = NULL;
    r->status_line = NULL;
    sslcodes_custom_response(r, SSLCODES_CLOSE, "", 0);
    return SSLCODES_CLOSE;
}

/* What ACT points at (a URL, a text, the https Location), checked; NULL
 * (logged) when it cannot be used and the built-in answer must do. */
static const char *sslcodes_action_target(request_rec *r,
                                          const sslcodes_verdict *v,
                                          const sslcodes_action *act)
{
    sslcodes_act_kind_e kind = act->spec.kind;
    const char *arg;

    if (kind == SSLCODES_ACT_HTTPS) {
        arg = sslcodes_https_url(r, v->port);
    }
    else if ((arg = sslcodes_action_arg(r, act)) == NULL) {
        return NULL;
    }
    else if (kind == SSLCODES_ACT_LOCAL && arg[0] != '/') {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLCODES_LOGNO(0104)
                      "SSLCodesErrorDocument: '%s' gave '%s', which is not "
                      "a local URL; sending the default page",
                      act->spec.arg, arg);
        return NULL;
    }
    if ((kind == SSLCODES_ACT_HTTPS || kind == SSLCODES_ACT_EXTERNAL)
        && !sslcodes_is_safe_location(arg)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLCODES_LOGNO(0105)
                      "SSLCodesErrorDocument: refusing to redirect to '%s'; "
                      "sending the default page", ap_escape_logitem(r->pool,
                                                                    arg));
        return NULL;
    }
    return arg;
}

/*
 * Choose the wire status and what core's error machinery should send:
 * ap_custom_response() is request-scoped, so it beats any ErrorDocument
 * for the same status slot (a 49x shares the 500 slot in core).
 */
static int sslcodes_respond(request_rec *r, sslcodes_verdict *v,
                            const sslcodes_action *act, int wire)
{
    int code = v->code;
    int status = wire == SSLCODES_WIRE_NGINX ? HTTP_BAD_REQUEST : code;
    sslcodes_act_kind_e kind = act ? act->spec.kind : SSLCODES_ACT_DEFAULT;
    const char *arg = NULL;

    if (kind == SSLCODES_ACT_CLOSE) {
        return sslcodes_respond_close(r, v);
    }
    if (act && act->spec.status) {
        status = act->spec.status;
    }
    if (kind != SSLCODES_ACT_DEFAULT
        && (arg = sslcodes_action_target(r, v, act)) == NULL) {
        /* The action could not be used: the built-in answer instead. */
        kind = SSLCODES_ACT_DEFAULT;
        status = wire == SSLCODES_WIRE_NGINX ? HTTP_BAD_REQUEST : code;
    }
    if (kind == SSLCODES_ACT_DEFAULT) {
        arg = sslcodes_default_page(r, code, wire);
    }
    if (kind == SSLCODES_ACT_HTTPS || kind == SSLCODES_ACT_EXTERNAL) {
        if (!act->spec.status) {
            status = HTTP_MOVED_TEMPORARILY;
        }
        apr_table_setn(r->headers_out, "Location", arg);
        arg = apr_pstrcat(r->pool, "<html><body>The document has moved "
                          "<a href=\"", ap_escape_html(r->pool, arg),
                          "\">here</a>.</body></html>", NULL);
    }

    /* Only the 49x itself needs a status line of ours; any other status
     * is one httpd knows. */
    v->status = status;
    v->status_line = status == code ? sslcodes_info(code)->status_line
                                    : NULL;
    if (kind == SSLCODES_ACT_LOCAL) {
        v->fallback = sslcodes_default_page(r, code, wire);
    }
    r->status_line = v->status_line;
    sslcodes_custom_response(r, status, arg, kind == SSLCODES_ACT_LOCAL);
    return status;
}

/* What a 49x request and its error document see in their environment. */
static void sslcodes_set_env(request_rec *r, const sslcodes_verdict *v)
{
    apr_table_setn(r->subprocess_env, "SSLCODES_STATUS",
                   sslcodes_info(v->code)->status);
    if (v->verify_text) {
        apr_table_setn(r->subprocess_env, "SSLCODES_VERIFY_ERROR",
                       v->verify_text);
        apr_table_setn(r->subprocess_env, "SSL_CLIENT_VERIFY",
                       v->client_verify);
    }
}

/* A 49x: a copy of the verdict is kept on R; it is counted, logged, and
 * answered with the settings of the verdict's vhost. */
static int sslcodes_answer_49x(request_rec *r, const sslcodes_verdict *d)
{
    sslcodes_verdict *v = apr_pmemdup(r->pool, d, sizeof(*d));
    sslcodes_srv_conf *sc = sslcodes_srv(v->server);
    int code = v->code;

    ap_set_module_config(r->request_config, &sslcodes_module, v);
    sslcodes_status_count(code);
    sslcodes_set_env(r, v);
    /* The built-in pages are text/html, without core's iso-8859-1. */
    apr_table_setn(r->subprocess_env, "suppress-error-charset", "1");
    sslcodes_finish_connection(r);

    /* Guarded: escaping the request line costs, and this path must be as
     * cheap as a plain-port Redirect when the line is not logged. */
    if (APLOGrinfo(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0101)
                      "%s%s%s%s (vhost %s:%u, request \"%s\"): %d",
                      v->reason, v->verify_text ? ": (" : "",
                      v->verify_text ? v->verify_text : "",
                      v->verify_text ? ")" : "",
                      r->server->server_hostname,
                      r->connection->local_addr->port,
                      ap_escape_logitem(r->pool, r->the_request), code);
    }
    return sslcodes_respond(r, v, sc->action[code - SSLCODES_CODE_MIN],
                            sc->wire);
}

/* A plain request on a TLS port whose virtual host has SSLCodes off gets
 * what mod_ssl would have sent: 400 with mod_ssl's reason.  It is never
 * served. */
static int sslcodes_answer_stock(request_rec *r)
{
    sslcodes_finish_connection(r);
    apr_table_setn(r->notes, SSLCODES_COUNTED_NOTE, "400");
    sslcodes_status_count(HTTP_BAD_REQUEST);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0102)
                  "client sent plain HTTP request to HTTPS port, SSLCodes "
                  "is off for vhost %s:%u: 400", r->server->server_hostname,
                  r->connection->local_addr->port);
    apr_table_setn(r->notes, "error-notes",
                   "Reason: You're speaking plain HTTP to an SSL-enabled "
                   "server port.<br />\n Instead use the HTTPS scheme to "
                   "access this URL, please.<br />\n");
    return HTTP_BAD_REQUEST;
}

/* The one answer to a verdict; returns the status for the hook to give. */
int sslcodes_answer(request_rec *r, sslcodes_verdict *v)
{
    if (v->code == HTTP_BAD_REQUEST) {
        return sslcodes_answer_stock(r);
    }
    if (v->code == HTTP_MISDIRECTED_REQUEST) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLCODES_LOGNO(0106)
                      "client certificate was checked by another virtual "
                      "host with other client-CA settings than vhost %s:%u: "
                      "421", r->server->server_hostname,
                      r->connection->local_addr->port);
        return HTTP_MISDIRECTED_REQUEST;
    }
    return sslcodes_answer_49x(r, v);
}

/* The error document of a 49x is an internal redirect, and httpd runs
 * post_read_request for it too: it carries the answer over instead of
 * being answered again.  Core gave R the 49x status but would print it as
 * "500 Internal Server Error". */
void sslcodes_answer_carry_over(request_rec *r, const sslcodes_verdict *v)
{
    ap_set_module_config(r->request_config, &sslcodes_module, (void *)v);
    r->status_line = v->status_line;
    sslcodes_set_env(r, v);
    /* Should the document fail (denied, missing), core answers with the
     * original request: let that be the default page rather than core's
     * text for a 500. */
    if (v->fallback && !r->prev->prev) {
        sslcodes_custom_response(r->prev, v->status, v->fallback, 0);
    }
}

/* Point the filters that name FROM at TO, as core does when an error
 * document fails. */
static void sslcodes_filters_to(ap_filter_t *f, request_rec *from,
                                request_rec *to)
{
    for (; f; f = f->next) {
        if (f->r == from) {
            f->r = to;
        }
    }
}

/*
 * R is the internal redirect of core's local ErrorDocument, and the
 * document must not run.  The original request is answered instead, by
 * its own insert_error_filter hooks, or with httpd's built-in page for its
 * status, exactly as when a document fails, but without the note that one
 * did.  WHY, when given, is why nothing but the module's answers may run
 * on this connection; the log then goes on speaking of R.  A text or
 * external ErrorDocument runs no handler and still applies; core never
 * comes here for those.
 */
int sslcodes_answer_original(request_rec *r, const char *why)
{
    request_rec *orig = r->prev;
    const char *method = apr_table_get(orig->subprocess_env,
                                       "REQUEST_METHOD");

    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, orig, SSLCODES_LOGNO(0107)
                      "not running ErrorDocument %s for status %d on %s "
                      "(vhost %s:%u); sending httpd's own page",
                      ap_escape_logitem(r->pool, r->unparsed_uri),
                      orig->status, why, r->server->server_hostname,
                      r->connection->local_addr->port);
        /* Core made the original request a GET for its document; its
         * page speaks of the method the client sent. */
        if (method) {
            orig->method = method;
            orig->method_number = ap_method_number_of(method);
        }
    }
    else {
        /* The log speaks of the original request from here on. */
        orig->next = NULL;
    }
    sslcodes_filters_to(orig->proto_output_filters, r, orig);
    sslcodes_filters_to(orig->input_filters, r, orig);
    if (!r->connection->master) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    ap_send_error_response(orig, 0);

    /* Core finishes R next; everything went out with the original. */
    r->eos_sent = 1;
    return DONE;
}
