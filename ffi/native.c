/*
 * hearth's native helpers, compiled at run time by TinyCC (bun:ffi cc) — see ffi/native.ts.
 *
 * No system headers exist on a board, so every libc function used here is declared by
 * hand (prototypes from the man pages), and every number (syscall numbers, flags,
 * struct differences between x86_64 and aarch64) arrives as a -D definition built from
 * ffi/constants.ts, the one table of such values.
 *
 * What lives here, because JavaScript cannot do it:
 *   1. hearth_spawn: the child side of a spawn, which runs between clone and execve.
 *   2. the reactor: a thread blocked in epoll_wait that wakes the JS event loop.
 *   3. blocking system calls on helper threads.
 *   4. handlers for the signals Bun does not know (the real-time ones).
 */

typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned long size_t;

extern int *__errno_location(void);
#define errno (*__errno_location())

extern long syscall(long number, ...);
extern int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
extern int waitpid(int pid, int *status, int options);
extern int execve(const char *path, char *const argv[], char *const envp[]);
extern void _exit(int status);
extern int dup2(int oldfd, int newfd);
extern int fcntl(int fd, int cmd, ...);
extern int open(const char *path, int flags, ...);
extern int close(int fd);
extern long write(int fd, const void *buf, size_t count);
extern int setsid(void);
extern int chdir(const char *path);
extern u32 umask(u32 mask);
extern int setrlimit(int resource, const u64 *limits); /* struct rlimit: {cur, max} */
extern int setpriority(int which, u32 who, int prio);
extern int prctl(int option, ...);
extern int epoll_create1(int flags);
extern int epoll_ctl(int epfd, int op, int fd, void *event);
extern int epoll_wait(int epfd, void *events, int maxevents, int timeout);
extern int pthread_create(u64 *thread, const void *attr, void *(*fn)(void *), void *arg);
extern int pthread_detach(u64 thread);

/* ------------------------------------------------------------------ spawn */

/*
 * Why clone(CLONE_VM|CLONE_VFORK) on a stack of its own rather than vfork():
 * the child then runs child_main on that stack, so it cannot overwrite the frames or
 * the spilled locals of the parent's stack (TinyCC knows nothing of vfork's
 * "returns twice", and keeps most locals in memory); the parent is still suspended
 * until the child calls execve or exits, so the memory the child writes its error
 * into is read only after it is done. This is what glibc's posix_spawn does.
 *
 * The child shares the parent's memory AND its thread pointer (TLS), so it must not
 * call libc functions that touch shared state: no malloc, no stdio, and no
 * setuid/setgid/setgroups wrappers — in a multi-threaded process glibc implements
 * those by signalling every thread of the PARENT (the "setxid" broadcast). Those go
 * through syscall(2) here, as does getpid (older glibc cached it in the TLS, which
 * would hold the parent's pid). The wrappers used (dup2, fcntl, open, setsid, ...)
 * are plain system calls in glibc.
 */

/* The child's stack: one static block, reused. A fresh mmap per spawn cost ~15 us more
 * (page faults, then munmap's TLB shootdown across Bun's threads). Each cc() compile
 * has its own copy, and a compiled library is only callable from the JS thread that
 * loaded it, so two spawns never share it. The child needs a few KiB. */
#define CHILD_STACK_SIZE (64 * 1024)
static char child_stack[CHILD_STACK_SIZE];

/* Flags of spawn_request.flags; mirrored in ffi/spawn.ts. */
#define SPAWN_SETSID      (1 << 0)
#define SPAWN_SET_UID     (1 << 1)
#define SPAWN_SET_GID     (1 << 2)
#define SPAWN_SET_GROUPS  (1 << 3)
#define SPAWN_SET_UMASK   (1 << 4)
#define SPAWN_SET_NICE    (1 << 5)
#define SPAWN_SET_OOM     (1 << 6)
#define SPAWN_NO_NEW_PRIVS (1 << 7)

/* Steps, for the error report; mirrored (same order) by SPAWN_STAGES in ffi/spawn.ts. */
enum spawn_stage {
  STAGE_NONE, STAGE_CLONE, STAGE_SETSID, STAGE_FDS, STAGE_CLOSE_FDS, STAGE_RLIMIT,
  STAGE_NICE, STAGE_OOM_SCORE_ADJ, STAGE_SETGROUPS, STAGE_SETGID,
  STAGE_SETUID, STAGE_CHDIR, STAGE_NO_NEW_PRIVS, STAGE_EXECVE,
};

/*
 * Filled by ffi/spawn.ts: every field is 8 bytes, so field i is at offset 8*i
 * (SLOT in ffi/spawn.ts names them). Pointers point into JS buffers kept alive for the
 * duration of the call.
 */
struct spawn_request {
  const char *path;
  char *const *argv;       /* NULL-terminated */
  char *const *envp;       /* NULL-terminated */
  char *const *pid_slots;  /* NULL-terminated: 21-byte holes in envp strings for our pid */
  int *fd_sources;         /* fd_sources[i] becomes fd i; rewritten by the child */
  i64 fd_count;            /* fds >= fd_count are closed */
  const char *cwd;         /* NULL: inherit */
  i64 flags;
  i64 uid;
  i64 gid;
  const u32 *groups;
  i64 group_count;
  i64 umask;
  i64 nice;
  i64 oom_score_adj;
  const u64 *rlimits;      /* rlimit_count triples: resource, soft, hard */
  i64 rlimit_count;
  i64 failed_errno;        /* out: set by the child when a step fails */
  i64 failed_stage;        /* out: enum spawn_stage, STAGE_NONE when execve succeeded */
};

static void child_fail(struct spawn_request *req, int stage) {
  req->failed_errno = errno;
  req->failed_stage = stage;
  _exit(127);
}

/* The kernel's struct sigaction (handler, flags, restorer, 64-bit mask) is the same on
 * x86_64 and arm64; all zero means SIG_DFL. */
static void reset_signal_dispositions(void) {
  u64 default_action[4] = {0, 0, 0, 0};
  for (int sig = 1; sig <= HEARTH_NSIG; sig++)
    syscall(SYS_rt_sigaction, sig, default_action, 0, KERNEL_SIGSET_BYTES); /* KILL/STOP fail: fine */
}

static int set_signal_mask(u64 mask, u64 *old) {
  return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, old, KERNEL_SIGSET_BYTES);
}

/* Put fd_sources[i] at fd i. First move every source that sits in the target range
 * above it, so that no dup2 overwrites a source still to be placed. dup2 to a
 * different number clears FD_CLOEXEC on the copy. */
static int place_fds(struct spawn_request *req) {
  int count = (int)req->fd_count;
  for (int i = 0; i < count; i++) {
    if (req->fd_sources[i] < count) {
      int moved = fcntl(req->fd_sources[i], F_DUPFD_CLOEXEC, count);
      if (moved < 0) return -1;
      req->fd_sources[i] = moved;
    }
  }
  for (int i = 0; i < count; i++)
    if (dup2(req->fd_sources[i], i) < 0) return -1;
  return 0;
}

/* struct linux_dirent64 (man 2 getdents64): u64 d_ino; i64 d_off; unsigned short
 * d_reclen (offset 16); unsigned char d_type; char d_name[] (offset 19). */
static int parse_fd_name(const char *name) {
  int fd = 0;
  if (*name < '0' || *name > '9') return -1;
  for (; *name; name++) fd = fd * 10 + (*name - '0');
  return fd;
}

/* Fallback for kernels before 5.9: walk /proc/self/fd without malloc (opendir allocates). */
static int close_fds_by_listing(int lowest) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  char buf[2048];
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n < 0) { close(dir); return -1; }
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      unsigned short reclen = *(unsigned short *)(buf + pos + 16);
      int fd = parse_fd_name(buf + pos + 19);
      if (fd >= lowest && fd != dir) close(fd);
      pos += reclen;
    }
  }
  close(dir);
  return 0;
}

static int close_fds_from(int lowest) {
  if (syscall(SYS_close_range, lowest, ~0U, 0) == 0) return 0;
  if (errno != ENOSYS) return -1;
  return close_fds_by_listing(lowest);
}

static int apply_rlimits(struct spawn_request *req) {
  for (i64 i = 0; i < req->rlimit_count; i++) {
    const u64 *triple = req->rlimits + 3 * i;
    if (setrlimit((int)triple[0], triple + 1) < 0) return -1;
  }
  return 0;
}

/* Decimal digits of value into out (at least 21 bytes), NUL-terminated. */
static int format_decimal(i64 value, char *out) {
  char digits[24];
  int n = 0, len = 0;
  u64 magnitude = value < 0 ? (u64)(-value) : (u64)value;
  do { digits[n++] = (char)('0' + magnitude % 10); magnitude /= 10; } while (magnitude);
  if (value < 0) out[len++] = '-';
  while (n) out[len++] = digits[--n];
  out[len] = 0;
  return len;
}

static int write_oom_score_adj(i64 value) {
  char text[24];
  int len = format_decimal(value, text);
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long written = write(fd, text, len);
  int saved = errno;
  close(fd);
  errno = saved;
  return written == len ? 0 : -1;
}

static void write_pid_slots(struct spawn_request *req) {
  i64 pid = syscall(SYS_getpid);
  for (char *const *slot = req->pid_slots; *slot; slot++) format_decimal(pid, *slot);
}

/* The order follows systemd's exec_child: privileged steps (rlimits, nice,
 * oom_score_adj) before dropping privileges, chdir after (as the service's user). */
static int child_main(void *arg) {
  struct spawn_request *req = arg;
  i64 flags = req->flags;
  reset_signal_dispositions();
  if ((flags & SPAWN_SETSID) && setsid() < 0) child_fail(req, STAGE_SETSID);
  if (place_fds(req) < 0) child_fail(req, STAGE_FDS);
  if (close_fds_from((int)req->fd_count) < 0) child_fail(req, STAGE_CLOSE_FDS);
  if (apply_rlimits(req) < 0) child_fail(req, STAGE_RLIMIT);
  if ((flags & SPAWN_SET_NICE) && setpriority(PRIO_PROCESS, 0, (int)req->nice) < 0)
    child_fail(req, STAGE_NICE);
  if ((flags & SPAWN_SET_OOM) && write_oom_score_adj(req->oom_score_adj) < 0)
    child_fail(req, STAGE_OOM_SCORE_ADJ);
  if (flags & SPAWN_SET_UMASK) umask((u32)req->umask);
  if ((flags & SPAWN_SET_GROUPS) && syscall(SYS_setgroups, req->group_count, req->groups) < 0)
    child_fail(req, STAGE_SETGROUPS);
  if ((flags & SPAWN_SET_GID) && syscall(SYS_setgid, req->gid) < 0) child_fail(req, STAGE_SETGID);
  if ((flags & SPAWN_SET_UID) && syscall(SYS_setuid, req->uid) < 0) child_fail(req, STAGE_SETUID);
  if (req->cwd && chdir(req->cwd) < 0) child_fail(req, STAGE_CHDIR);
  if ((flags & SPAWN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
    child_fail(req, STAGE_NO_NEW_PRIVS);
  write_pid_slots(req);
  set_signal_mask(0, 0);
  execve(req->path, req->argv, req->envp);
  child_fail(req, STAGE_EXECVE);
  return 127;
}

/* A child that failed before execve has already exited when clone returns (the
 * parent resumes at the child's exit): collect it so no one else ever sees it. */
static void reap_failed_child(int pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

/*
 * Returns the child's pid once it has called execve, or -1 with failed_stage and
 * failed_errno set (the child, if any, already reaped). All signals are blocked in the
 * calling thread around clone so that no handler of the parent runs in the child
 * before child_main has reset them all to SIG_DFL.
 */
int hearth_spawn(struct spawn_request *req) {
  req->failed_errno = 0;
  req->failed_stage = STAGE_NONE;
  /* the stack grows down on x86_64 and arm64; both ABIs want it 16-byte aligned */
  char *stack_top = (char *)((u64)(child_stack + CHILD_STACK_SIZE) & ~15ULL);
  u64 saved_mask;
  set_signal_mask(~0ULL, &saved_mask);
  int pid = clone(child_main, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, req);
  int clone_errno = errno;
  if (pid > 0 && req->failed_stage != STAGE_NONE) reap_failed_child(pid);
  set_signal_mask(saved_mask, 0);
  if (pid < 0) {
    req->failed_errno = clone_errno;
    req->failed_stage = STAGE_CLONE;
    return -1;
  }
  return req->failed_stage == STAGE_NONE ? pid : -1;
}

/* ------------------------------------------------------------------ reactor */

/* include/uapi/linux/eventpoll.h: packed on x86_64 only (see EPOLL_EVENT_PACKED). */
#if EPOLL_EVENT_PACKED
struct epoll_event { u32 events; u64 data; } __attribute__((packed));
#else
struct epoll_event { u32 events; u64 data; };
#endif

typedef void (*ready_callback)(int fd, u32 events, u32 generation);

static int reactor_epoll = -1;
static ready_callback reactor_callback;

/* Every registration is EPOLLONESHOT: after one report the fd stays silent until JS
 * re-arms it, so this loop never spins on a level-triggered fd JS has not drained. */
static void *reactor_loop(void *unused) {
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(reactor_epoll, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    for (int i = 0; i < n; i++) {
      u64 data = events[i].data;
      reactor_callback((int)(u32)data, events[i].events, (u32)(data >> 32));
    }
  }
}

/* Creates the epoll instance and its thread; returns the epoll fd or -errno. The
 * thread starts with every signal blocked, so signals keep going to the JS thread. */
int hearth_reactor_start(void *callback) {
  if (reactor_epoll >= 0) return reactor_epoll;
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return -errno;
  reactor_epoll = epfd;
  reactor_callback = (ready_callback)callback;
  u64 saved_mask, thread;
  set_signal_mask(~0ULL, &saved_mask);
  int err = pthread_create(&thread, 0, reactor_loop, 0);
  set_signal_mask(saved_mask, 0);
  if (err) {
    close(epfd);
    reactor_epoll = -1;
    return -err;
  }
  pthread_detach(thread);
  return epfd;
}

/* epoll_ctl with the fd and a generation number packed into the event's data. */
int hearth_reactor_ctl(int op, int fd, u32 events, u32 generation) {
  struct epoll_event event;
  event.events = events;
  event.data = ((u64)generation << 32) | (u32)fd;
  return epoll_ctl(reactor_epoll, op, fd, &event) < 0 ? -errno : 0;
}

/* ------------------------------------------------------------------ blocking calls */

/*
 * Some system calls may block for long (mount of a real disk, finit_module of a big
 * driver), and PID 1's loop must never block. hearth_async_syscall runs one of them on
 * a thread of its own, then writes the call's 8-byte tag to notify_fd (a pipe the
 * reactor watches); ffi/async.ts reads the tag and the result from the struct, which JS
 * keeps alive until then. After the write the thread touches nothing of the call.
 */
struct async_call {
  i64 number;      /* the syscall number */
  i64 args[6];
  i64 result;      /* out: the raw return value */
  i64 error;       /* out: errno when result < 0, else 0 */
  i64 notify_fd;
  i64 tag;
};

static void *async_call_main(void *arg) {
  struct async_call *call = arg;
  long result = syscall(call->number, call->args[0], call->args[1], call->args[2],
                        call->args[3], call->args[4], call->args[5]);
  call->error = result < 0 ? errno : 0;
  call->result = result;
  i64 tag = call->tag;
  int fd = (int)call->notify_fd;
  while (write(fd, &tag, sizeof tag) < 0 && errno == EINTR) {}
  return 0;
}

/* Starts the thread (every signal blocked in it); 0, or -errno of pthread_create. */
int hearth_async_syscall(struct async_call *call) {
  u64 saved_mask, thread;
  set_signal_mask(~0ULL, &saved_mask);
  int err = pthread_create(&thread, 0, async_call_main, call);
  set_signal_mask(saved_mask, 0);
  if (err) return -err;
  pthread_detach(thread);
  return 0;
}

/* ------------------------------------------------------------------ signals Bun does not know */

/*
 * Bun's process.on() knows no real-time signal, yet systemd's tools send SIGRTMIN+n to
 * PID 1 (and a real-time signal left at SIG_DFL is dropped for PID 1). The handler
 * writes the signal's number, one byte, to a non-blocking pipe the reactor watches:
 * write(2) is async-signal-safe, and a full pipe loses a byte rather than blocking.
 * glibc's signal() installs it with BSD semantics (SA_RESTART, stays installed).
 */
typedef void (*signal_handler)(int);
extern signal_handler signal(int sig, signal_handler handler);
static int forward_fd = -1;

static void forward_signal(int sig) {
  int saved = errno;
  unsigned char number = (unsigned char)sig;
  (void)!write(forward_fd, &number, 1);
  errno = saved;
}

/* Sends sig to fd from now on (one fd for all: the last one given); 0 or -errno. */
int hearth_forward_signal(int sig, int fd) {
  forward_fd = fd;
  return signal(sig, forward_signal) == (signal_handler)-1 ? -errno : 0;
}

/* ------------------------------------------------------------------ self-checks */

/* Sizes the JS side relies on, checked when the library loads. */
i64 hearth_sizeof(int what) {
  switch (what) {
    case 0: return sizeof(struct spawn_request);
    case 1: return sizeof(struct epoll_event);
    case 2: return sizeof(struct async_call);
    default: return -1;
  }
}
