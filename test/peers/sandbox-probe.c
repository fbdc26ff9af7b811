/*
 * sandbox-probe: tries what the sandboxing directives forbid, one try per argument, and
 * prints "NAME: ok" or "NAME: ERRNO-NAME" for each (test/integration/sandbox-*.test.ts).
 * Each try is harmless when it succeeds: it sets what is already set, or uses clocks and
 * paths the kernel refuses anyway when nothing filters the call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, int ok) {
  printf("%s: %s\n", name, ok ? "ok" : strerrorname_np(errno));
  fflush(stdout);
}

static int try(const char *name) {
  if (!strcmp(name, "socket-packet")) return socket(AF_PACKET, SOCK_DGRAM, 0) >= 0;
  if (!strcmp(name, "socket-inet")) return socket(AF_INET, SOCK_DGRAM, 0) >= 0;
  if (!strcmp(name, "socket-unix")) return socket(AF_UNIX, SOCK_STREAM, 0) >= 0;
  if (!strcmp(name, "mmap-wx"))
    return mmap(NULL, 4096, PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
  if (!strcmp(name, "mprotect-x")) {
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return page != MAP_FAILED && mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0;
  }
  if (!strcmp(name, "personality")) {
    int result = personality(PER_LINUX32);
    if (result >= 0) personality(PER_LINUX);
    return result >= 0;
  }
  if (!strcmp(name, "unshare-user")) return unshare(CLONE_NEWUSER) == 0;
  if (!strcmp(name, "unshare-net")) return unshare(CLONE_NEWNET) == 0;
  if (!strcmp(name, "clock-settime")) { /* CLOCK_MONOTONIC cannot be set: EINVAL unless filtered first */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return clock_settime(CLOCK_MONOTONIC, &now) == 0;
  }
  if (!strcmp(name, "sethostname")) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    return sethostname(host, strlen(host)) == 0;
  }
  if (!strcmp(name, "chmod-suid")) {
    const char *path = "/tmp/sandbox-probe-suid";
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) return 0;
    close(fd);
    int result = chmod(path, 04755);
    unlink(path);
    return result == 0;
  }
  if (!strcmp(name, "open-suid")) {
    const char *path = "/tmp/sandbox-probe-suid-open";
    int fd = open(path, O_CREAT | O_WRONLY, 02755);
    if (fd >= 0) { close(fd); unlink(path); }
    return fd >= 0;
  }
  if (!strcmp(name, "sched-fifo")) {
    struct sched_param param = { .sched_priority = 1 };
    int result = sched_setscheduler(0, SCHED_FIFO, &param);
    if (result == 0) { param.sched_priority = 0; sched_setscheduler(0, SCHED_OTHER, &param); }
    return result == 0;
  }
  if (!strcmp(name, "swapon")) return swapon("/nonexistent/sandbox-probe", 0) == 0; /* ENOENT unless filtered */
  if (!strcmp(name, "getpid")) return getpid() > 0;
  errno = EINVAL;
  return 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) report(argv[i], try(argv[i]));
  return 0;
}
