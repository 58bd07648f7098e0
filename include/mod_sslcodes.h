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
 * mod_sslcodes.h: what other modules may use.  Nothing else in here.
 */

#ifndef MOD_SSLCODES_H
#define MOD_SSLCODES_H

#include "httpd.h"
#include "apr_optional.h"

#define MOD_SSLCODES_VERSION "0.1.0"

/* How mod_sslcodes classified a connection by its first bytes. */
typedef enum {
    SSLCODES_CONN_UNCLASSIFIED = 0, /* not looked at (module off here)     */
    SSLCODES_CONN_TLS = 1,          /* TLS, handed to mod_ssl              */
    SSLCODES_CONN_PLAIN = 2         /* plain HTTP on a TLS port            */
} sslcodes_conn_class_e;

/*
 * Report a connection's classification and, for TLS connections governed
 * by SSLCodesVerifyClient, the X.509 verify result (X509_V_OK, i.e. 0,
 * when the client certificate verified or none was sent; -1 when there
 * is nothing to report).  C may be an HTTP/2 stream's connection.
 */
APR_DECLARE_OPTIONAL_FN(sslcodes_conn_class_e, sslcodes_conn_status,
                        (conn_rec *c, long *verify_result));

#endif /* MOD_SSLCODES_H */
