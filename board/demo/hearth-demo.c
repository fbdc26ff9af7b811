/*
 * hearth-demo: the programs of the example rootfs (board/rootfs/etc/hearth), one static
 * binary, one verb per service. The guest has no Python and no libsystemd, so the
 * systemd protocols are spoken by hand here: sd_notify is one datagram on the unix
 * socket named by NOTIFY_SOCKET, sd_listen_fds reads LISTEN_PID and LISTEN_FDS.
 *
 *   notify [DELAY_MS]        READY=1 after a delay, then WATCHDOG=1 every WATCHDOG_USEC/2
 *   echo                     echo lines back, on the sockets passed at fd 3.. (or its own)
 *   client HOST PORT TEXT    connect, send TEXT, expect it back; says so on the console
 *   crash-once MARKER        the first run creates MARKER and exits 3; later runs serve
 *   write FILE TEXT          a oneshot: write TEXT into FILE
 *   orphans N                leave N orphans behind (they exit 0.2 s later): PID 1 reaps them
 *   selfcheck                zombies, cgroup2, /run/systemd/system, PID 1's memory, every unit's state
 *                            (from hearth's control socket) on the console
 *
 * Built statically for the board's architecture by board/image/rootfs.ts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* One line on the console (the serial port under QEMU), where the boot test reads it. */
static void say(const char *fmt, ...) {
  char line[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) { (void)!write(fd, line, n); close(fd); }
  (void)!write(1, line, n);
}

/* sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET ("@name" is abstract). */
static int notify(const char *state) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return 0;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  size_t len = strlen(path);
  if (len >= sizeof addr.sun_path) return -1;
  memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ssize_t sent = sendto(fd, state, strlen(state), 0, (struct sockaddr *)&addr,
                        offsetof(struct sockaddr_un, sun_path) + len);
  close(fd);
  return sent < 0 ? -1 : 1;
}

/* sd_listen_fds(3) by hand: the fds from 3 on are ours only if LISTEN_PID is our pid. */
static int listen_fds(void) {
  const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
  if (!pid || !fds || atol(pid) != (long)getpid()) return 0;
  int n = atoi(fds);
  for (int fd = 3; fd < 3 + n; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return n;
}

static void serve_watchdog_forever(void) {
  const char *usec = getenv("WATCHDOG_USEC");
  long interval_ms = usec ? atol(usec) / 2000 : 0;
  for (;;) {
    if (interval_ms > 0) { sleep_ms(interval_ms); notify("WATCHDOG=1"); }
    else pause();
  }
}

static int cmd_notify(int argc, char **argv) {
  long delay = argc > 2 ? atol(argv[2]) : 0;
  if (delay > 0) sleep_ms(delay);
  notify("READY=1\nSTATUS=serving");
  serve_watchdog_forever();
  return 0;
}

static int listen_tcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) { perror("echo: listen"); exit(1); }
  return fd;
}

static int cmd_echo(int argc, char **argv) {
  int n = listen_fds();
  int fd = n > 0 ? 3 : listen_tcp(argc > 2 ? atoi(argv[2]) : 7777);
  printf("echo: serving on fd %d (%s)\n", fd, n > 0 ? "passed by the manager" : "its own socket");
  fflush(stdout);
  notify("READY=1");
  for (;;) {
    int c = accept4(fd, 0, 0, SOCK_CLOEXEC);
    if (c < 0) { if (errno == EINTR) continue; perror("echo: accept"); return 1; }
    char buf[1024];
    ssize_t got;
    while ((got = read(c, buf, sizeof buf)) > 0) (void)!write(c, buf, got);
    close(c);
  }
}

static int cmd_client(int argc, char **argv) {
  if (argc < 5) return 2;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
  inet_pton(AF_INET, argv[2], &a.sin_addr);
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
      size_t len = strlen(argv[4]);
      char reply[256] = {0};
      (void)!write(fd, argv[4], len);
      shutdown(fd, SHUT_WR);
      ssize_t got = 0, n;
      while (got < (ssize_t)sizeof reply - 1 && (n = read(fd, reply + got, sizeof reply - 1 - got)) > 0) got += n;
      close(fd);
      int ok = (size_t)got == len && memcmp(reply, argv[4], len) == 0;
      say("echo-client: sent '%s', got '%s' after %d attempt(s): %s", argv[4], reply, attempt + 1, ok ? "ok" : "MISMATCH");
      return ok ? 0 : 1;
    }
    close(fd);
    sleep_ms(100);
  }
  say("echo-client: could not connect to %s:%s", argv[2], argv[3]);
  return 1;
}

static int cmd_crash_once(int argc, char **argv) {
  if (argc < 3) return 2;
  int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0) {
    close(fd);
    printf("crash-once: first run, crashing in 300 ms\n");
    fflush(stdout);
    sleep_ms(300);
    return 3;
  }
  notify("READY=1\nSTATUS=running after a crash");
  serve_watchdog_forever();
  return 0;
}

static int cmd_write(int argc, char **argv) {
  if (argc < 4) return 2;
  FILE *f = fopen(argv[2], "w");
  if (!f) { perror(argv[2]); return 1; }
  fprintf(f, "%s\n", argv[3]);
  return fclose(f) == 0 ? 0 : 1;
}

static int cmd_orphans(int argc, char **argv) {
  int n = argc > 2 ? atoi(argv[2]) : 3;
  for (int i = 0; i < n; i++) {
    pid_t child = fork();
    if (child == 0) {
      if (fork() == 0) { sleep_ms(200); _exit(0); } /* the orphan: its parent is gone when it exits */
      _exit(0);
    }
    waitpid(child, 0, 0);
  }
  printf("orphans: left %d behind\n", n);
  return 0;
}

static int count_zombies(void) {
  DIR *d = opendir("/proc");
  if (!d) return -1;
  int zombies = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300], stat[512] = {0};
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)!read(fd, stat, sizeof stat - 1);
    close(fd);
    char *paren = strrchr(stat, ')');
    if (paren && paren[1] == ' ' && paren[2] == 'Z') zombies++;
  }
  closedir(d);
  return zombies;
}

static int cgroup2_mounted(void) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  if (!f) return 0;
  char line[1024];
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, " /sys/fs/cgroup ") && strstr(line, " - cgroup2 ")) found = 1;
  }
  fclose(f);
  return found;
}

/* One request on hearth's control socket; its one-line reply into REPLY (NUL-terminated,
 * newline cut). Returns the reply's length, or -1 (and says why) when the socket fails. */
static long control_request(const char *req, char *reply, size_t size) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "/run/hearth/control.sock" };
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { say("selfcheck: control socket: %s", strerror(errno)); close(fd); return -1; }
  (void)!write(fd, req, strlen(req));
  size_t got = 0;
  ssize_t n;
  while (got < size - 1 && (n = read(fd, reply + got, size - 1 - got)) > 0) {
    got += n;
    if (reply[got - 1] == '\n') break;
  }
  close(fd);
  reply[got] = 0;
  char *nl = strchr(reply, '\n');
  if (nl) *nl = 0;
  return (long)strlen(reply);
}

/* The control socket's `list` reply (one JSON line), printed as is. */
static void print_unit_list(void) {
  static char reply[1 << 18];
  if (control_request("{\"verb\":\"list\"}\n", reply, sizeof reply) < 0) return;
  /* The console is slow and line-oriented: one line, framed, for the test to find. */
  int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (con < 0) return;
  dprintf(con, "selfcheck: units %s\n", reply);
  close(con);
}

/* PID 1's resident memory, as /proc/1/status says it ("VmRSS:   30212 kB"). */
static void print_pid1_rss(void) {
  FILE *f = fopen("/proc/1/status", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      line[strcspn(line, "\n")] = 0;
      char *v = line + 6;
      while (*v == ' ' || *v == '\t') v++;
      say("selfcheck: PID 1 VmRSS %s", v);
    }
  }
  fclose(f);
}

static long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* One run of ARGV, its output to /dev/null: wall µs from fork to reaped, or -1 if it failed. */
static long run_timed_us(char *const argv[]) {
  long t0 = now_us();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 1); dup2(null, 2); }
    execv(argv[0], argv);
    _exit(127);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return -1;
  long took = now_us() - t0;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? took : -1;
}

static int by_value(const void *a, const void *b) { long x = *(const long *)a, y = *(const long *)b; return (x > y) - (x < y); }

/* What a command on the board costs (issue 11 goal 3): `hearthctl status echo` against
 * `hearth --version` (the binary's start-up floor) and against the same request sent
 * straight to the control socket (PID 1's part), 3 runs each, interleaved; medians. */
static void time_control_client(void) {
  char *status[] = { "/usr/bin/hearthctl", "status", "echo", 0 };
  char *version[] = { "/sbin/hearth", "--version", 0 };
  static char reply[1 << 16];
  enum { RUNS = 3 };
  long s[RUNS], v[RUNS], r[RUNS];
  for (int i = 0; i < RUNS; i++) {
    s[i] = run_timed_us(status);
    v[i] = run_timed_us(version);
    long t0 = now_us();
    r[i] = control_request("{\"verb\":\"status\",\"units\":[\"echo\"],\"lines\":10}\n", reply, sizeof reply) > 0 ? now_us() - t0 : -1;
    if (s[i] < 0 || v[i] < 0 || r[i] < 0) { say("selfcheck: hearthctl status echo FAILED"); return; }
  }
  qsort(s, RUNS, sizeof s[0], by_value);
  qsort(v, RUNS, sizeof v[0], by_value);
  qsort(r, RUNS, sizeof r[0], by_value);
  say("selfcheck: hearthctl status echo %ld ms, hearth --version %ld ms, the request alone %ld ms (medians of %d)",
      s[RUNS / 2] / 1000, v[RUNS / 2] / 1000, r[RUNS / 2] / 1000, RUNS);
}

static int cmd_selfcheck(void) {
  int zombies = count_zombies();
  for (int i = 0; i < 30 && zombies > 0; i++) { sleep_ms(100); zombies = count_zombies(); }
  struct stat st;
  say("selfcheck: zombies %d", zombies);
  say("selfcheck: cgroup2 %s", cgroup2_mounted() ? "mounted on /sys/fs/cgroup" : "MISSING");
  say("selfcheck: /run/systemd/system %s", stat("/run/systemd/system", &st) == 0 ? "present" : "MISSING");
  print_pid1_rss();
  time_control_client();
  print_unit_list();
  return zombies == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IOLBF, 0);
  const char *verb = argc > 1 ? argv[1] : "";
  if (!strcmp(verb, "notify")) return cmd_notify(argc, argv);
  if (!strcmp(verb, "echo")) return cmd_echo(argc, argv);
  if (!strcmp(verb, "client")) return cmd_client(argc, argv);
  if (!strcmp(verb, "crash-once")) return cmd_crash_once(argc, argv);
  if (!strcmp(verb, "write")) return cmd_write(argc, argv);
  if (!strcmp(verb, "orphans")) return cmd_orphans(argc, argv);
  if (!strcmp(verb, "selfcheck")) return cmd_selfcheck();
  fprintf(stderr, "usage: hearth-demo notify|echo|client|crash-once|write|orphans|selfcheck ...\n");
  return 2;
}
