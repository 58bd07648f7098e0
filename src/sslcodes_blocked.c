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
 * sslcodes_blocked.c: what a worker thread is blocked on, and shutting it
 * down (for the watch of sslcodes_watch.c; Linux only).
 *
 * Linux shows the system call a thread is in, with its arguments, in
 * /proc/self/task/TID/syscall.  For read, recv, send and their kin the
 * first argument is the descriptor; for poll and ppoll it is the address
 * of the pollfd array, read here as a debugger would.  The checks that
 * make the descriptor shut the one the thread waits on are described at
 * sslcodes_blocked_shut().
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "httpd.h"
#include "ap_listen.h"

#include "apr_strings.h"

#include "sslcodes_private.h"

#ifdef __linux__

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* The most descriptors of one poll() that are looked through. */
#define SSLCODES_BLOCKED_POLLFDS 8

/* The system call thread TID is in: its line of /proc, into BUF. */
static int sslcodes_syscall_line(pid_t tid, char *buf, apr_size_t len)
{
    char path[64];
    ssize_t n;
    int fd;

    apr_snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return 0;
    }
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    return 1;
}

/* The one descriptor of a poll() array, at ADDR in this process, that is
 * not the client's; -1 if none, or more than one. */
static int sslcodes_poll_target(unsigned long addr, unsigned long nfds,
                                int client_fd)
{
    struct pollfd pfd[SSLCODES_BLOCKED_POLLFDS];
    struct iovec local, remote;
    unsigned long i;
    int fd = -1;

    if (nfds == 0 || nfds > SSLCODES_BLOCKED_POLLFDS) {
        return -1;
    }
    /* Read as a debugger would: an address that is no longer mapped is
     * an error here, not a crash. */
    local.iov_base = pfd;
    local.iov_len = nfds * sizeof(pfd[0]);
    remote.iov_base = (void *)addr;
    remote.iov_len = local.iov_len;
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0)
        != (ssize_t)local.iov_len) {
        return -1;
    }
    for (i = 0; i < nfds; i++) {
        if (pfd[i].fd < 0 || pfd[i].fd == client_fd || pfd[i].fd == fd) {
            continue;
        }
        if (fd >= 0) {
            return -1;
        }
        fd = pfd[i].fd;
    }
    return fd;
}

/* Can this process read its threads' system calls?  Not once it has
 * changed user (httpd started as root): it is no longer dumpable, and
 * its /proc files are root's. */
int sslcodes_blocked_readable(void)
{
    char line[256];

    return sslcodes_syscall_line((pid_t)syscall(SYS_gettid), line,
                                 sizeof(line));
}

/* The descriptor that the system call of LINE waits on; -1 if it waits on
 * none the module knows (or is not in a system call at all). */
static int sslcodes_waited_fd(const char *line, int client_fd)
{
    unsigned long a[2];
    char *end;
    long nr;

    nr = strtol(line, &end, 10);
    if (end == line || nr < 0) {
        return -1;
    }
    a[0] = strtoul(end, &end, 16);
    a[1] = strtoul(end, &end, 16);
    switch (nr) {
#ifdef SYS_poll
    case SYS_poll:
#endif
    case SYS_ppoll:
        return sslcodes_poll_target(a[0], a[1], client_fd);
#ifdef SYS_read
    case SYS_read:
#endif
    case SYS_readv:
    case SYS_recvfrom:
    case SYS_recvmsg:
    case SYS_write:
    case SYS_writev:
    case SYS_sendto:
    case SYS_sendmsg:
    case SYS_connect:
        return (int)a[0] == client_fd ? -1 : (int)a[0];
    default:
        return -1;
    }
}

/* Did a listener accept the socket FD?  Then it is a client's connection
 * (a local port of a Listen line), which the watch never shuts. */
static int sslcodes_accepted(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    ap_listen_rec *lr;
    apr_port_t port;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        return 1;
    }
    if (ss.ss_family == AF_INET) {
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    else if (ss.ss_family == AF_INET6) {
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    else {
        return 0;                     /* AF_UNIX: mod_cgid, a backend     */
    }
    for (lr = ap_listeners; lr; lr = lr->next) {
        if (lr->bind_addr && lr->bind_addr->port == port) {
            return 1;
        }
    }
    return 0;
}

/* Is HELD, a duplicate of descriptor FD, an outgoing socket, still named
 * FD, and not the client's (CLIENT_DEV, CLIENT_INO)?  Fails closed. */
static int sslcodes_backend_socket(int fd, int held, dev_t client_dev,
                                   ino_t client_ino)
{
    struct stat st, now;

    if (fstat(held, &st) != 0 || !S_ISSOCK(st.st_mode)
        || fstat(fd, &now) != 0
        || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
        return 0;
    }
    if (st.st_dev == client_dev && st.st_ino == client_ino) {
        return 0;
    }
    return !sslcodes_accepted(held);
}

/*
 * Shut down the outgoing socket that thread TID waits on.  Returns the
 * descriptor shut, or -1 to ask again later (the thread is busy, or waits
 * on the client's socket CLIENT_FD or on something that is no outgoing
 * socket).
 */
int sslcodes_blocked_shut(pid_t tid, int client_fd, dev_t client_dev,
                          ino_t client_ino)
{
    char before[256], after[256];
    int fd, held, ok;

    if (!sslcodes_syscall_line(tid, before, sizeof(before))
        || (fd = sslcodes_waited_fd(before, client_fd)) < 0) {
        return -1;
    }
    if ((held = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        return -1;
    }
    /* Held now: is it still what the thread waits on? */
    ok = sslcodes_syscall_line(tid, after, sizeof(after))
         && strcmp(before, after) == 0
         && sslcodes_waited_fd(after, client_fd) == fd
         && sslcodes_backend_socket(fd, held, client_dev, client_ino);
    if (ok) {
        shutdown(held, SHUT_RDWR);
    }
    close(held);
    return ok ? fd : -1;
}

#endif /* __linux__ */
