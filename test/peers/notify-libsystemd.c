/*
 * A Type=notify test service written against libsystemd's sd-daemon API, the
 * way real daemons use it. Used by hearth's integration tests.
 *
 *   1. sleeps $DELAY_MS milliseconds (default 0)
 *   2. sd_notify  "STATUS=starting"
 *   3. sd_notifyf "READY=1\nSTATUS=serving\nMAINPID=<getpid()>"
 *   4. loops: prints "tick N" on stdout every second; when the service
 *      watchdog is on (sd_watchdog_enabled: WATCHDOG_USEC, and WATCHDOG_PID
 *      if set must be our pid) and $PING is not "0", sends WATCHDOG=1 every
 *      WATCHDOG_USEC/2
 *   5. SIGTERM or SIGINT: sends STOPPING=1 and exits 0
 *      SIGHUP: sends "RELOADING=1\nMONOTONIC_USEC=<now>", then "READY=1"
 *
 * Every notification it sends is also logged to stderr ("sent: ...", or
 * "not sent: ..." when NOTIFY_SOCKET is unset or sending failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

static volatile sig_atomic_t got_term = 0;
static volatile sig_atomic_t got_hup = 0;

static void on_signal(int sig) {
        if (sig == SIGHUP)
                got_hup = 1;
        else
                got_term = 1;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void report(int r, const char *what) {
        /* One line per message: newlines in the payload are shown as '|'. */
        char buf[256];
        snprintf(buf, sizeof buf, "%s", what);
        for (char *p = buf; *p; p++)
                if (*p == '\n')
                        *p = '|';
        if (r > 0)
                fprintf(stderr, "sent: %s\n", buf);
        else if (r == 0)
                fprintf(stderr, "not sent (NOTIFY_SOCKET unset): %s\n", buf);
        else
                fprintf(stderr, "not sent (%s): %s\n", strerror(-r), buf);
}

static void notify(const char *msg) {
        report(sd_notify(0, msg), msg);
}

static void usage(const char *argv0) {
        printf("usage: %s [--help]\n"
               "A Type=notify test service using libsystemd's sd_notify.\n"
               "Environment: NOTIFY_SOCKET, DELAY_MS (default 0), WATCHDOG_USEC,\n"
               "WATCHDOG_PID, PING (\"0\" = never send WATCHDOG=1).\n"
               "SIGTERM/SIGINT: STOPPING=1 and exit 0. SIGHUP: RELOADING=1 then READY=1.\n",
               argv0);
}

int main(int argc, char **argv) {
        if (argc > 1) {
                if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                        usage(argv[0]);
                        return 0;
                }
                fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], argv[1]);
                return 2;
        }

        setvbuf(stdout, NULL, _IOLBF, 0);
        setvbuf(stderr, NULL, _IOLBF, 0);

        /* Block the signals and only let them in while waiting in ppoll(), so
         * none can slip in between a check of the flags and the wait. */
        sigset_t block, waitmask;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGHUP);
        sigprocmask(SIG_BLOCK, &block, &waitmask);
        sigdelset(&waitmask, SIGTERM);
        sigdelset(&waitmask, SIGINT);
        sigdelset(&waitmask, SIGHUP);

        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);

        const char *delay = getenv("DELAY_MS");
        if (delay && *delay) {
                long ms = strtol(delay, NULL, 10);
                if (ms > 0) {
                        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
                        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                                ;
                }
        }

        notify("STATUS=starting");

        char ready[128];
        snprintf(ready, sizeof ready, "READY=1\nSTATUS=serving\nMAINPID=%lu", (unsigned long) getpid());
        report(sd_notifyf(0, "READY=1\nSTATUS=serving\nMAINPID=%lu", (unsigned long) getpid()), ready);

        uint64_t watchdog_usec = 0;
        const char *ping = getenv("PING");
        int r = sd_watchdog_enabled(0, &watchdog_usec);
        if (r < 0)
                fprintf(stderr, "sd_watchdog_enabled: %s\n", strerror(-r));
        int pinging = r > 0 && watchdog_usec > 0 && !(ping && strcmp(ping, "0") == 0);
        if (r > 0)
                fprintf(stderr, "watchdog: %llu usec, %s\n", (unsigned long long) watchdog_usec,
                        pinging ? "pinging every half" : "not pinging (PING=0)");

        uint64_t start = now_usec();
        uint64_t next_tick = start + 1000000u;
        uint64_t next_ping = pinging ? start + watchdog_usec / 2 : UINT64_MAX;
        unsigned long ticks = 0;

        for (;;) {
                if (got_term) {
                        notify("STOPPING=1");
                        return 0;
                }
                if (got_hup) {
                        got_hup = 0;
                        char reloading[96];
                        snprintf(reloading, sizeof reloading, "RELOADING=1\nMONOTONIC_USEC=%llu",
                                 (unsigned long long) now_usec());
                        notify(reloading);
                        notify("READY=1");
                }

                uint64_t now = now_usec();
                if (now >= next_tick) {
                        printf("tick %lu\n", ++ticks);
                        next_tick += 1000000u;
                }
                if (now >= next_ping) {
                        notify("WATCHDOG=1");
                        next_ping = now + watchdog_usec / 2;
                }

                uint64_t next = next_tick < next_ping ? next_tick : next_ping;
                now = now_usec();
                uint64_t wait = next > now ? next - now : 0;
                struct timespec ts = { (time_t) (wait / 1000000u), (long) (wait % 1000000u) * 1000L };
                if (ppoll(NULL, 0, &ts, &waitmask) < 0 && errno != EINTR) {
                        perror("ppoll");
                        return 1;
                }
        }
}
