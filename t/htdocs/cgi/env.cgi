#!/bin/sh
# Prints the CGI environment, one NAME=VALUE a line, sorted.
printf 'Content-Type: text/plain\n\n'
env | LC_ALL=C sort
