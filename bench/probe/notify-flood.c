/*
 * Notify flood, for the notify-throughput figure in bench/micro.ts.
 *
 *   notify-flood send SECONDS COUNT_FILE
 *       Sends "STATUS=n" datagrams (n = 1, 2, ...) to $NOTIFY_SOCKET as fast as the
 *       receiver takes them (blocking send on a connected socket: a full receive queue
 *       blocks the sender, nothing is dropped) for SECONDS, then writes
 *       "COUNT SECONDS_ELAPSED" to COUNT_FILE and sleeps until killed (a service
 *       that ends would be restarted or reported).
 *
 *   notify-flood sink PATH SECONDS
 *       The reference receiver: binds a datagram socket at PATH with SO_PASSCRED and
 *       receives with recvmsg() and a credentials buffer, as a manager must, doing
 *       nothing else; prints the number received after SECONDS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "notify-flood: %s: %s\n", what, strerror(errno));
    exit(111);
}

static socklen_t address(struct sockaddr_un *sa, const char *path) {
    size_t len = strlen(path);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (len == 0 || len >= sizeof sa->sun_path) {
        errno = EINVAL;
        die("socket path");
    }
    memcpy(sa->sun_path, path, len);
    if (sa->sun_path[0] == '@') sa->sun_path[0] = '\0';
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

_Noreturn static void flood(double seconds, const char *count_file) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path) {
        errno = EINVAL;
        die("NOTIFY_SOCKET not set");
    }
    struct sockaddr_un sa;
    socklen_t len = address(&sa, path);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    if (connect(s, (struct sockaddr *)&sa, len) < 0) die("connect");
    char msg[64];
    uint64_t n = 0;
    double start = now_s(), end = start + seconds, t = start;
    while (t < end) {
        /* the clock is read every 64 datagrams: cheap, and fine-grained enough */
        for (int i = 0; i < 64; i++) {
            int m = snprintf(msg, sizeof msg, "STATUS=%llu", (unsigned long long)(n + 1));
            if (send(s, msg, (size_t)m, 0) < 0) {
                if (errno == EINTR) continue;
                die("send");
            }
            n++;
        }
        t = now_s();
    }
    FILE *f = fopen(count_file, "w");
    if (!f) die(count_file);
    fprintf(f, "%llu %.6f\n", (unsigned long long)n, t - start);
    fclose(f);
    for (;;) pause();
}

static int sink(const char *path, double seconds) {
    struct sockaddr_un sa;
    socklen_t len = address(&sa, path);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    int one = 1;
    if (setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) die("SO_PASSCRED");
    unlink(path);
    if (bind(s, (struct sockaddr *)&sa, len) < 0) die("bind");
    struct timeval tv = { 0, 100000 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    printf("ready\n");
    fflush(stdout);
    char data[4096];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    } control;
    uint64_t n = 0;
    double end = now_s() + seconds;
    while (now_s() < end) {
        struct iovec iov = { data, sizeof data };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
        ssize_t r = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            die("recvmsg");
        }
        n++;
    }
    printf("%llu\n", (unsigned long long)n);
    unlink(path);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "send") == 0) flood(atof(argv[2]), argv[3]);
    if (argc == 4 && strcmp(argv[1], "sink") == 0) return sink(argv[2], atof(argv[3]));
    fprintf(stderr, "usage: notify-flood send SECONDS COUNT_FILE | sink PATH SECONDS\n");
    return 100;
}
