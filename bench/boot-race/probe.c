/*
 * race-probe: every service of the boot race (bench/boot-race.ts), for every init.
 *
 *   race-probe NAME DELAY_MS [--daemon] [--pidfile PATH] [--notify-fd N]
 *                            [--serve @ABSTRACT] [--connect @ABSTRACT]
 *
 * A service that becomes ready DELAY_MS after it starts (0: at once), then stays up.
 *   --serve @X     a server on the abstract unix socket X: the listening socket passed
 *                  by the init (LISTEN_FDS=1 and LISTEN_PID = our pid: socket
 *                  activation), else one it binds itself. Ready after DELAY_MS; then it
 *                  answers every connection with "ok\n".
 *   --connect @X   a client: once DELAY_MS has passed it connects to X (retrying every
 *                  5 ms while nothing listens there yet), sends a line and becomes
 *                  ready when the answer comes back.
 * Readiness is announced every way an init may listen for it, after it is recorded:
 *   - the record: "race: ready NAME" written to the kernel log through /race/kmsg (a
 *     node of /dev/kmsg shipped in every image, so it works before any /dev is
 *     mounted). The kernel stamps it with the same clock as its own "Run /init as init
 *     process" line: that is how the race is timed, the same way for every init;
 *   - sd_notify READY=1 when NOTIFY_SOCKET is set (systemd, hearth);
 *   - a newline on fd N with --notify-fd (s6-style readiness);
 *   - PATH holding our pid with --pidfile (finit's pid/ conditions);
 *   - with --daemon the program forks first and the parent exits 0 once the child is
 *     ready (a classic forking daemon: what a sequential rcS or start-stop-daemon waits for).
 * Statically linked; no library beyond libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void die(const char *name, const char *what) {
  char line[256];
  int fd = open("/race/kmsg", O_WRONLY | O_CLOEXEC);
  int n = snprintf(line, sizeof line, "<2>race: error %s: %s: %s\n", name, what, strerror(errno));
  if (fd >= 0 && n > 0) { if (write(fd, line, (size_t)n) < 0) {} close(fd); }
  _exit(1);
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* An abstract unix address from "@name"; returns its length. */
static socklen_t abstract_addr(struct sockaddr_un *sa, const char *at) {
  size_t len = strlen(at);
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (at[0] != '@' || len < 2 || len > sizeof sa->sun_path) { errno = EINVAL; return 0; }
  memcpy(sa->sun_path + 1, at + 1, len - 1);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static void notify_systemd(const char *name) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len >= sizeof sa.sun_path) return;
  memcpy(sa.sun_path, path, len);
  if (path[0] == '@') sa.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(name, "notify socket");
  static const char msg[] = "READY=1";
  if (sendto(fd, msg, sizeof msg - 1, 0, (struct sockaddr *)&sa,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) die(name, "sd_notify");
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: race-probe NAME DELAY_MS [options]\n"); return 2; }
  const char *name = argv[1];
  long delay = atol(argv[2]);
  const char *pidfile = NULL, *serve = NULL, *connect_to = NULL;
  int daemonize = 0, notify_fd = -1;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--daemon")) daemonize = 1;
    else if (!strcmp(argv[i], "--pidfile") && i + 1 < argc) pidfile = argv[++i];
    else if (!strcmp(argv[i], "--notify-fd") && i + 1 < argc) notify_fd = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--serve") && i + 1 < argc) serve = argv[++i];
    else if (!strcmp(argv[i], "--connect") && i + 1 < argc) connect_to = argv[++i];
    else { fprintf(stderr, "race-probe: unknown argument %s\n", argv[i]); return 2; }
  }
  signal(SIGPIPE, SIG_IGN);

  int ready_pipe[2] = { -1, -1 };
  if (daemonize) {
    if (pipe(ready_pipe) < 0) die(name, "pipe");
    pid_t pid = fork();
    if (pid < 0) die(name, "fork");
    if (pid > 0) { /* the parent: exit once the child says it is ready */
      char c;
      close(ready_pipe[1]);
      ssize_t n;
      while ((n = read(ready_pipe[0], &c, 1)) < 0 && errno == EINTR) {}
      _exit(n == 1 ? 0 : 1);
    }
    close(ready_pipe[0]);
    setsid();
  }

  int listener = -1;
  if (serve) {
    const char *fds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
    if (fds && lpid && atoi(fds) == 1 && (pid_t)atol(lpid) == getpid()) {
      listener = 3;
    } else {
      struct sockaddr_un sa;
      socklen_t len = abstract_addr(&sa, serve);
      if (!len) die(name, "--serve needs @name");
      listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (listener < 0 || bind(listener, (struct sockaddr *)&sa, len) < 0 || listen(listener, 64) < 0) die(name, "listen");
    }
    unsetenv("LISTEN_FDS"); unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDNAMES");
  }

  if (delay > 0) sleep_ms(delay);

  if (connect_to) {
    struct sockaddr_un sa;
    socklen_t len = abstract_addr(&sa, connect_to);
    if (!len) die(name, "--connect needs @name");
    int fd;
    for (;;) {
      fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) die(name, "socket");
      if (connect(fd, (struct sockaddr *)&sa, len) == 0) break;
      if (errno != ECONNREFUSED && errno != ENOENT) die(name, "connect");
      close(fd);
      sleep_ms(5);
    }
    char buf[16];
    if (write(fd, "hello\n", 6) != 6) die(name, "write");
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR) {}
    if (n <= 0) die(name, "no answer");
    close(fd);
  }

  /* Ready: record it, then tell the init. */
  char line[128];
  int n = snprintf(line, sizeof line, "<2>race: ready %s\n", name);
  int kmsg = open("/race/kmsg", O_WRONLY | O_CLOEXEC);
  if (kmsg < 0 || write(kmsg, line, (size_t)n) != n) die(name, "/race/kmsg");
  close(kmsg);
  if (pidfile) {
    char pid[32];
    int m = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    int fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, pid, (size_t)m) != m) die(name, "pidfile");
    close(fd);
  }
  notify_systemd(name);
  if (notify_fd >= 0) { if (write(notify_fd, "\n", 1) != 1) die(name, "notify fd"); close(notify_fd); }
  if (ready_pipe[1] >= 0) { if (write(ready_pipe[1], "r", 1) != 1) die(name, "ready pipe"); close(ready_pipe[1]); }

  /* Stay up (a server answers its connections). */
  for (;;) {
    if (listener < 0) { pause(); continue; }
    int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) { if (errno == EINTR) continue; die(name, "accept"); }
    char buf[64];
    if (read(c, buf, sizeof buf) > 0 && write(c, "ok\n", 3) != 3) {}
    close(c);
  }
}
