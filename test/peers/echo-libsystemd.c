/*
 * A socket-activated echo server written against libsystemd's sd-daemon API.
 * Used by hearth's integration tests.
 *
 * Default (Accept=no): takes the sockets passed with sd_listen_fds() (fd 3..,
 * LISTEN_FDS, LISTEN_PID must be our pid) and, checking each with
 * sd_is_socket(), echoes on every one of them: listening stream and seqpacket
 * sockets accept connections and echo what each connection sends; datagram
 * sockets send each datagram back to its sender. Prints one line per socket
 * ("fd 3 name=NAME type=stream listening") on stdout, then sends READY=1.
 *
 * --accept (Accept=yes): fd 3 is one connected socket; echo on it until the
 * peer closes, then exit 0. Prints "connection from $REMOTE_ADDR port
 * $REMOTE_PORT" on stderr first when REMOTE_ADDR is set.
 *
 * --crash-after N (Accept=no): serves one request at a time on the passed
 * sockets: a listening socket gets one connection accepted, one read echoed,
 * and the connection closed; a datagram socket gets one datagram echoed. After
 * the Nth request it aborts (SIGABRT), holding no connection at that moment:
 * what the manager does between the crash and the next start decides whether
 * any client is refused or lost.
 *
 * Exits 1 when no usable socket was passed. SIGTERM ends it (default action).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#define MAX_POLL 256

enum kind { LISTENER, CONNECTION, DATAGRAM };

static struct pollfd pfds[MAX_POLL];
static enum kind kinds[MAX_POLL];
static int npfds = 0;

static int add(int fd, enum kind kind) {
        if (npfds == MAX_POLL)
                return -1;
        pfds[npfds] = (struct pollfd) { .fd = fd, .events = POLLIN };
        kinds[npfds] = kind;
        npfds++;
        return 0;
}

static void drop(int i) {
        close(pfds[i].fd);
        pfds[i] = pfds[npfds - 1];
        kinds[i] = kinds[npfds - 1];
        npfds--;
}

/* Writes all of buf; returns 0, or -1 when the peer went away. */
static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                buf += w;
                n -= (size_t) w;
        }
        return 0;
}

/* Echoes what is readable on a connection; returns -1 at EOF or error. */
static int echo_connection(int fd) {
        char buf[65536];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -1;
        if (n == 0)
                return -1;
        return write_all(fd, buf, (size_t) n);
}

static void echo_datagram(int fd) {
        char buf[65536];
        struct sockaddr_storage from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &len);
        if (n < 0)
                return;
        if (len == 0) /* unnamed unix peer: nowhere to answer */
                return;
        (void) sendto(fd, buf, (size_t) n, MSG_NOSIGNAL, (struct sockaddr *) &from, len);
}

static int serve_accepted(void) {
        const char *remote = getenv("REMOTE_ADDR");
        if (remote)
                fprintf(stderr, "connection from %s port %s\n", remote, getenv("REMOTE_PORT") ?: "?");
        int n = sd_listen_fds(1);
        if (n < 1) {
                fprintf(stderr, "--accept: no socket passed (sd_listen_fds: %d)\n", n);
                return 1;
        }
        int fd = SD_LISTEN_FDS_START;
        if (sd_is_socket(fd, AF_UNSPEC, 0, 0) <= 0) {
                fprintf(stderr, "--accept: fd %d is not a connected socket\n", fd);
                return 1;
        }
        while (echo_connection(fd) == 0)
                ;
        return 0;
}

static int serve_listeners(void) {
        char **names = NULL;
        int n = sd_listen_fds_with_names(1, &names);
        if (n < 0) {
                fprintf(stderr, "sd_listen_fds_with_names: %s\n", strerror(-n));
                return 1;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "?";
                const char *what;
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0 || sd_is_socket(fd, AF_UNSPEC, SOCK_SEQPACKET, 1) > 0) {
                        what = "listening stream";
                        add(fd, LISTENER);
                } else if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0) {
                        what = "datagram";
                        add(fd, DATAGRAM);
                } else {
                        what = "unusable (not a listening stream or datagram socket), ignored";
                }
                printf("fd %d name=%s %s\n", fd, name, what);
        }
        if (names) {
                for (int i = 0; names[i]; i++)
                        free(names[i]);
                free(names);
        }
        fflush(stdout);
        if (npfds == 0) {
                fprintf(stderr, "no usable socket passed (LISTEN_FDS/LISTEN_PID)\n");
                return 1;
        }
        (void) sd_notify(0, "READY=1\nSTATUS=echoing");

        for (;;) {
                if (poll(pfds, (nfds_t) npfds, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("poll");
                        return 1;
                }
                /* Walk backwards: drop() moves the last entry into the hole. */
                for (int i = npfds - 1; i >= 0; i--) {
                        if (!pfds[i].revents)
                                continue;
                        if (kinds[i] == LISTENER) {
                                int c = accept4(pfds[i].fd, NULL, NULL, SOCK_CLOEXEC);
                                if (c >= 0 && add(c, CONNECTION) < 0)
                                        close(c);
                        } else if (kinds[i] == DATAGRAM) {
                                echo_datagram(pfds[i].fd);
                        } else if (echo_connection(pfds[i].fd) < 0) {
                                drop(i);
                        }
                }
        }
}

/* One request on a ready socket: a whole connection, or one datagram. */
static void serve_one(int fd, enum kind kind) {
        if (kind == DATAGRAM) {
                echo_datagram(fd);
                return;
        }
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return;
        (void) echo_connection(c);
        close(c);
}

static int serve_then_crash(long requests) {
        int n = sd_listen_fds(1);
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                add(fd, sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0 ? DATAGRAM : LISTENER);
        }
        if (npfds == 0) {
                fprintf(stderr, "no socket passed (LISTEN_FDS/LISTEN_PID)\n");
                return 1;
        }
        (void) sd_notify(0, "READY=1");
        for (long served = 0; served < requests;) {
                if (poll(pfds, (nfds_t) npfds, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("poll");
                        return 1;
                }
                for (int i = 0; i < npfds && served < requests; i++) {
                        if (!pfds[i].revents)
                                continue;
                        serve_one(pfds[i].fd, kinds[i]);
                        served++;
                }
        }
        printf("served %ld, crashing\n", requests);
        abort();
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("usage: %s [--accept | --crash-after N | --help]\n"
                       "Socket-activated echo server using libsystemd's sd_listen_fds.\n"
                       "Default: echo on every passed socket (Accept=no). --accept: echo on the\n"
                       "connection at fd 3 until it closes (Accept=yes). --crash-after N: one\n"
                       "request at a time, abort after the Nth (Accept=no).\n",
                       argv[0]);
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "--accept") == 0)
                return serve_accepted();
        if (argc > 2 && strcmp(argv[1], "--crash-after") == 0)
                return serve_then_crash(strtol(argv[2], NULL, 10));
        if (argc > 1) {
                fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], argv[1]);
                return 2;
        }
        return serve_listeners();
}
