#!/bin/sh
# A CGI that stalls (t/codes/backend_abort.t): notes its pid, then sleeps
# 30 seconds before it answers.  The sleep is the script itself (exec), so
# the noted pid is the process that mod_cgid has to end.
echo "$$ $QUERY_STRING" >> "$DOCUMENT_ROOT/../logs/stall_started"
exec sleep 30
