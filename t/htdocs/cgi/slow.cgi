#!/bin/sh
# A slow backend: answers after 2 seconds (t/codes/client_closed.t).
sleep 2
printf 'Content-Type: text/plain\n\nslow answer\n'
