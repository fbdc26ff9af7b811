/*
 * The ready probe: a stand-in service for the supervision race (bench/supervision.ts).
 *
 *   ready-probe RECORD INDEX DELAY_MS MODE
 *
 * Records the CLOCK_MONOTONIC time it started, sleeps DELAY_MS (its "initialisation"),
 * records the time it became ready, tells its supervisor, then sleeps until killed.
 * MODE is how it tells:
 *   fd:N    writes a newline on fd N and closes it (s6's notification-fd, dinit's
 *           ready-notification, hearth's notification_fd)
 *   notify  sends READY=1 to $NOTIFY_SOCKET (sd_notify, hearth's type = "notify")
 *   none    tells no one (runit has no readiness protocol)
 *
 * RECORD is a file of 16-byte slots, one per probe: slot INDEX holds two native u64,
 * the start and the ready time in nanoseconds. Two pwrite()s: cheap, and one read of
 * the whole file gives the bench every unit's times.
 *
 * Run by a supervisor as `./run` or `./check` (a symlink to this binary in the
 * service directory, so no shell is run; s6-supervise passes the service name as one
 * argument, runsv none), it reads "RECORD INDEX DELAY_MS MODE" from
 * ./params. As `check` (runit's ./check script, run by `sv check`) it exits 0 when its
 * unit's ready time is recorded, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "ready-probe: %s: %s\n", what, strerror(errno));
    exit(111);
}

static void record(int fd, long index, int field, uint64_t value) {
    if (pwrite(fd, &value, sizeof value, index * 16 + field * 8) != (ssize_t)sizeof value) die("pwrite");
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* sd_notify without libsystemd: one datagram, path or @abstract address. */
static void notify_ready(void) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) {
        errno = EINVAL;
        die("NOTIFY_SOCKET not set");
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        die("NOTIFY_SOCKET");
    }
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    static const char msg[] = "READY=1";
    if (sendto(s, msg, sizeof msg - 1, 0, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + len) < 0) die("sendto");
    close(s);
}

int main(int argc, char **argv) {
    char params[4096];
    char *record_path, *mode;
    long index, delay_ms;
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    int from_service_dir = argc <= 2 && (strcmp(base, "run") == 0 || strcmp(base, "check") == 0);

    if (from_service_dir) {
        int fd = open("params", O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("./params");
        ssize_t n = read(fd, params, sizeof params - 1);
        if (n <= 0) die("./params");
        params[n] = '\0';
        close(fd);
        record_path = strtok(params, " \n");
        char *i = strtok(NULL, " \n"), *d = strtok(NULL, " \n");
        mode = strtok(NULL, " \n");
        if (!record_path || !i || !d || !mode) {
            errno = EINVAL;
            die("./params: want RECORD INDEX DELAY_MS MODE");
        }
        index = atol(i);
        delay_ms = atol(d);
    } else if (argc == 5) {
        record_path = argv[1];
        index = atol(argv[2]);
        delay_ms = atol(argv[3]);
        mode = argv[4];
    } else {
        fprintf(stderr, "usage: ready-probe RECORD INDEX DELAY_MS fd:N|notify|none\n");
        return 100;
    }

    if (from_service_dir && strcmp(base, "check") == 0) {
        int fd = open(record_path, O_RDONLY | O_CLOEXEC);
        uint64_t ready = 0;
        if (fd < 0 || pread(fd, &ready, sizeof ready, index * 16 + 8) != (ssize_t)sizeof ready) return 1;
        return ready != 0 ? 0 : 1;
    }

    int rec = open(record_path, O_WRONLY | O_CLOEXEC);
    if (rec < 0) die(record_path);
    record(rec, index, 0, now_ns());
    sleep_ms(delay_ms);

    uint64_t ready_at = now_ns();
    if (strncmp(mode, "fd:", 3) == 0) {
        int fd = atoi(mode + 3);
        if (write(fd, "\n", 1) != 1) die("notification fd");
        close(fd);
    } else if (strcmp(mode, "notify") == 0) {
        notify_ready();
    } else if (strcmp(mode, "none") != 0) {
        errno = EINVAL;
        die(mode);
    }
    record(rec, index, 1, ready_at);
    close(rec);

    for (;;) pause(); /* until the supervisor stops it */
}
