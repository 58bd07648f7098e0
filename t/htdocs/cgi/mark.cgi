#!/bin/sh
# A front controller stand-in: it must never run on a connection that
# earned a 49x.  It leaves a mark in t/logs/marks when it does.
echo "$REDIRECT_STATUS $REQUEST_URI $SSL_CLIENT_VERIFY" >> "$DOCUMENT_ROOT/../logs/marks"
printf 'Content-Type: text/plain\n\nHANDLER RAN\n'
