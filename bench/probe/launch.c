/*
 * launch: starts a supervisor for the benchmarks and cleans up after it.
 *
 *   launch RECORD INDEX PROGRAM [ARG...]
 *
 * Becomes a child subreaper, records the CLOCK_MONOTONIC time in slot INDEX of RECORD
 * (first u64 of the 16-byte slot, as ready-probe does), forks, and the child execs
 * PROGRAM: "supervisor start" is then read from the same clock as the probes' times.
 * Prints the supervisor's pid on stdout, forwards SIGTERM, SIGINT and SIGHUP to it, and
 * reaps whatever is orphaned below it. When the supervisor has exited, everything left
 * below (services it did not stop) is killed with SIGKILL and reaped, so no run leaves
 * a process or a zombie behind; exits with the supervisor's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t supervisor = 0;

/* kill() is async-signal-safe: forward at once, whatever the main loop is doing. */
static void on_signal(int sig) {
    if (supervisor > 0) kill(supervisor, sig);
}

static void die(const char *what) {
    fprintf(stderr, "launch: %s: %s\n", what, strerror(errno));
    exit(111);
}

/* SIGKILL every direct child (orphans reparented to us); returns how many. */
static int kill_children(void) {
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    int count = 0;
    for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n")) {
        kill((pid_t)atoi(tok), SIGKILL);
        count++;
    }
    return count;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: launch RECORD INDEX PROGRAM [ARG...]\n");
        return 100;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) die("PR_SET_CHILD_SUBREAPER");

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    int rec = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (rec < 0) die(argv[1]);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t start = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (pwrite(rec, &start, sizeof start, atol(argv[2]) * 16) != (ssize_t)sizeof start) die("pwrite");
    close(rec);

    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        dup2(2, 1); /* the supervisor's output goes where ours goes to: stdout is the pid */
        execvp(argv[3], argv + 3);
        die(argv[3]);
    }
    supervisor = child;
    printf("%d\n", (int)child);
    fflush(stdout);

    int status = 0, child_status = 0;
    int child_alive = 1;
    while (child_alive) {
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) die("waitpid");
        if (pid == child) {
            child_status = status;
            child_alive = 0;
        }
    }
    /* The supervisor is gone: kill and reap what it left, until nothing is left. */
    for (;;) {
        kill_children();
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == ECHILD) break;
    }
    if (WIFEXITED(child_status)) return WEXITSTATUS(child_status);
    return 128 + WTERMSIG(child_status);
}
