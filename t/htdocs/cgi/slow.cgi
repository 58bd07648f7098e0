#!/bin/sh
# A slow backend: answers after 2 seconds (t/codes/client_closed.t,
# t/codes/h2_reset.t).  It notes its start in t/logs/slow_started first,
# so that a client can leave while it runs (SSLCodesTest's
# wait_slow_started): the request has been read then, and the answer is
# still two seconds away.
echo "$QUERY_STRING" >> "$DOCUMENT_ROOT/../logs/slow_started"
sleep 2
printf 'Content-Type: text/plain\n\nslow answer\n'
