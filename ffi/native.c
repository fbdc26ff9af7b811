/*
 * hearth's native helpers, compiled ahead of time by gcc for x86_64 and aarch64
 * (ffi/build-native.ts, `make native`) and loaded by ffi/native.ts.
 *
 * No system header is included: every libc function used here is declared by hand
 * (prototypes from the man pages) and the .so is linked without libc (-nostdlib), so it
 * binds to whatever glibc the process runs on, not the build host's. Every number
 * (syscall numbers, flags, struct differences between x86_64 and aarch64) arrives as a
 * -D definition built from ffi/constants.ts, the one table of such values.
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
extern int openat(int dirfd, const char *path, int flags, ...);
extern int close(int fd);
extern long write(int fd, const void *buf, size_t count);
extern int setsid(void);
extern int chdir(const char *path);
extern u32 umask(u32 mask);
extern int setrlimit(int resource, const u64 *limits); /* struct rlimit: {cur, max} */
extern int setpriority(int which, u32 who, int prio);
extern int prctl(int option, ...);
extern int mount(const char *source, const char *target, const char *type, unsigned long flags, const void *data);
extern int unshare(int flags);
extern int setns(int fd, int nstype);
extern int mkdir(const char *path, u32 mode);
extern int symlink(const char *target, const char *path);
extern int socket(int domain, int type, int protocol);
extern int ioctl(int fd, unsigned long request, ...);
extern int epoll_create1(int flags);
extern int epoll_ctl(int epfd, int op, int fd, void *event);
extern int epoll_wait(int epfd, void *events, int maxevents, int timeout);
extern int pthread_create(u64 *thread, const void *attr, void *(*fn)(void *), void *arg);
extern int pthread_detach(u64 thread);
extern long read(int fd, void *buf, size_t count);
extern int pipe2(int fds[2], int flags);
extern int getppid(void);
extern u32 getuid(void);
extern u32 getgid(void);

/* ------------------------------------------------------------------ spawn */

/*
 * Why clone(CLONE_VM|CLONE_VFORK) on a stack of its own rather than vfork():
 * the child then runs child_main on that stack, so it cannot overwrite the frames or
 * the spilled locals of the parent's stack (no compiler may assume vfork's "returns
 * twice" is harmless to the caller's frame); the parent is still suspended
 * until the child calls execve or exits, so the memory the child writes its error
 * into is read only after it is done. This is what glibc's posix_spawn does.
 *
 * The child shares the parent's memory AND its thread pointer (TLS), so it must not
 * call libc functions that touch shared state: no malloc, no stdio, and no
 * setuid/setgid/setgroups wrappers — in a multi-threaded process glibc implements
 * those by signalling every thread of the PARENT (the "setxid" broadcast). Those go
 * through syscall(2) here, as does getpid (older glibc cached it in the TLS, which
 * would hold the parent's pid). The wrappers used (dup2, fcntl, open, setsid, mount,
 * unshare, prctl, ...) are plain system calls in glibc; calls some libc lacks
 * (ioprio_set, mount_setattr before glibc 2.36) go through syscall(2) too.
 */

/* The child's stack: one static block, reused. A fresh mmap per spawn cost ~15 us more
 * (page faults, then munmap's TLB shootdown across Bun's threads). hearth_spawn is only
 * called from the JS thread, so two spawns never share it. The child needs a few KiB. */
#define CHILD_STACK_SIZE (64 * 1024)
static char child_stack[CHILD_STACK_SIZE] __attribute__((aligned(16)));

/* Flags of spawn_request.flags; mirrored in ffi/spawn-layout.ts. */
#define SPAWN_SETSID      (1 << 0)
#define SPAWN_SET_UID     (1 << 1)
#define SPAWN_SET_GID     (1 << 2)
#define SPAWN_SET_GROUPS  (1 << 3)
#define SPAWN_SET_UMASK   (1 << 4)
#define SPAWN_SET_NICE    (1 << 5)
#define SPAWN_SET_OOM     (1 << 6)
#define SPAWN_NO_NEW_PRIVS (1 << 7)
#define SPAWN_SET_IOPRIO  (1 << 8)
#define SPAWN_CAP_BOUNDING (1 << 9)
#define SPAWN_CAP_AMBIENT (1 << 10)
/* Read-only paths the way Linux < 5.12 allows (no mount_setattr): for tests of that path. */
#define SPAWN_LEGACY_REMOUNT (1 << 11)
/* SIGPIPE to SIG_IGN instead of SIG_DFL (systemd's IgnoreSIGPIPE=). */
#define SPAWN_IGNORE_SIGPIPE (1 << 12)
/* Into the cgroup by writing cgroup.procs even where clone3 could start the child there:
 * for a cgroup emptied by cgroup.kill (see src/exec/cgroup.ts), and tests of that path. */
#define SPAWN_CGROUP_JOIN (1 << 13)
/* tty_path: reset its termios, hang up who has it open, disallocate its VT (systemd's
 * TTYReset=, TTYVHangup=, TTYVTDisallocate=); make it the controlling terminal, even by
 * taking it from another session (StandardInput=tty, tty-force). */
#define SPAWN_TTY_RESET        (1 << 14)
#define SPAWN_TTY_VHANGUP      (1 << 15)
#define SPAWN_TTY_VT_DISALLOCATE (1 << 16)
#define SPAWN_TTY_CONTROLLING  (1 << 17)
#define SPAWN_TTY_FORCE        (1 << 18)
/* sched_setscheduler(sched_policy, sched_priority) (systemd's CPUSchedulingPolicy= and
 * friends); the policy may carry SCHED_RESET_ON_FORK. */
#define SPAWN_SET_SCHED        (1 << 19)
/* PrivateUsers=: a user namespace of its own (private_users below). */
#define SPAWN_PRIVATE_USERS    (1 << 20)
/* A mount namespace of its own (apply_mounts), whatever the number of steps in it. */
#define SPAWN_MOUNT_NAMESPACE  (1 << 21)
/* prctl(PR_SET_SECUREBITS, secure_bits) before the change of user (SecureBits=). */
#define SPAWN_SECUREBITS       (1 << 22)
/* An fd_sources entry standing for the terminal the child opens (TTY_FD in ffi/spawn-layout.ts). */
#define TTY_FD (-2)

/* Kinds and flags of struct mount_op; mirrored in ffi/spawn-layout.ts. The plan (which
 * paths, in which order, with which flags) is made by src/exec/mount-plan.ts; the child
 * carries it out step by step. */
#define MOUNT_BIND         1 /* source on path (MOUNT_RECURSIVE: with the mounts below it) */
#define MOUNT_TMPFS        2 /* a tmpfs on path: attr_set as mount flags, data as options */
#define MOUNT_SETATTR      3 /* the mount at path (not below): attr_set on, attr_clear off */
#define MOUNT_INACCESSIBLE 4 /* path hidden */
#define MOUNT_MKDIR        5 /* a directory (an existing one is fine) */
#define MOUNT_MKFILE       6 /* an empty file, a mount point for a device node */
#define MOUNT_SYMLINK      7 /* a symlink at path to source */
#define MOUNT_MOVE         8 /* the mount at source moved to path */
#define MOUNT_PROC         9 /* a new proc on path: attr_set as mount flags, data as options */
#define MOUNT_OPTIONAL     (1 << 0) /* a missing path or source (ENOENT) is skipped */
#define MOUNT_RECURSIVE    (1 << 1)

/* Steps, for the error report; mirrored (same order) by SPAWN_STAGES in ffi/spawn-layout.ts. */
enum spawn_stage {
  STAGE_NONE, STAGE_CLONE, STAGE_CGROUP, STAGE_SETSID, STAGE_TTY, STAGE_FDS, STAGE_CLOSE_FDS, STAGE_RLIMIT,
  STAGE_NICE, STAGE_IOPRIO, STAGE_CPU_AFFINITY, STAGE_OOM_SCORE_ADJ, STAGE_NAMESPACES,
  STAGE_LOOPBACK, STAGE_MOUNT_NAMESPACE, STAGE_MOUNTS,
  STAGE_CAPABILITY_BOUNDING_SET, STAGE_AMBIENT_CAPABILITIES, STAGE_SETGROUPS, STAGE_SETGID,
  STAGE_SETUID, STAGE_CHDIR, STAGE_NO_NEW_PRIVS, STAGE_SECCOMP, STAGE_EXECVE, STAGE_CPU_SCHEDULING,
  STAGE_USER_NAMESPACE, STAGE_SECURE_BITS,
  STAGE_COUNT /* not a stage: checked against the JS list when the library loads */
};

/* One step of the private mount namespace; applied in order. */
struct mount_op {
  i64 kind;                /* MOUNT_BIND ... MOUNT_PROC */
  i64 flags;               /* MOUNT_OPTIONAL, MOUNT_RECURSIVE */
  const char *path;        /* absolute, normalized */
  const char *source;      /* BIND, SYMLINK, MOVE; else NULL */
  const char *data;        /* TMPFS, PROC options; else NULL */
  u64 attr_set;            /* MOUNT_ATTR_RDONLY|NOSUID|NODEV|NOEXEC: the same bits as MS_* */
  u64 attr_clear;          /* SETATTR */
};

/* struct sock_fprog of seccomp(2) on LP64: the count, then the instructions' address. */
struct sock_fprog { unsigned short len; const void *filter; };

/*
 * Filled by ffi/spawn.ts: every field is 8 bytes, so field i is at offset 8*i
 * (SLOT in ffi/spawn-layout.ts names them). Pointers point into JS buffers kept alive for the
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
  i64 cgroup_fd;           /* >= 0: a cgroup directory (O_DIRECTORY) the child starts in */
  const u64 *cpu_mask;     /* sched_setaffinity mask of cpu_mask_bytes; 0 bytes: inherit */
  i64 cpu_mask_bytes;
  i64 ioprio;              /* SPAWN_SET_IOPRIO: the ioprio_set value */
  u64 bounding_keep;       /* SPAWN_CAP_BOUNDING: bit n kept in the bounding set */
  u64 ambient;             /* SPAWN_CAP_AMBIENT: bit n raised in the ambient set */
  const struct mount_op *mounts; /* mount_count steps: a non-zero count means a mount namespace */
  i64 mount_count;
  i64 unshare_flags;       /* CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS (not NEWNS: mounts say that) */
  const char *seccomp;     /* seccomp_length bytes of programs, each a u64 count then struct sock_filter[count] */
  i64 seccomp_length;
  const i64 *join_ns;      /* fds on the unit's namespaces (mnt, net, ipc, uts; -1: none) an earlier spawn got: joined, not made */
  i64 failed_errno;        /* out: set by the child when a step fails */
  i64 failed_stage;        /* out: enum spawn_stage, STAGE_NONE when execve succeeded */
  i64 failed_index;        /* out: for a mount stage, the index of the mount_op */
  const char *tty_path;    /* NULL: no terminal; else opened by the child, fd_sources TTY_FD entries become it */
  i64 sched_policy;        /* SPAWN_SET_SCHED: SCHED_* | SCHED_RESET_ON_FORK */
  i64 sched_priority;
  i64 secure_bits;         /* SPAWN_SECUREBITS: the SECBIT_* set (keep-caps added for ambient capabilities) */
};

static void child_fail(struct spawn_request *req, int stage) {
  req->failed_errno = errno;
  req->failed_stage = stage;
  _exit(127);
}

/* The kernel's struct sigaction (handler, flags, restorer, 64-bit mask) is the same on
 * x86_64 and arm64; all zero means SIG_DFL, a handler of 1 SIG_IGN. Every signal to
 * its default, except SIGPIPE when asked (systemd's IgnoreSIGPIPE=yes, its default):
 * a write to a closed pipe or socket then fails with EPIPE instead of killing. */
static void reset_signal_dispositions(int ignore_sigpipe) {
  u64 default_action[4] = {0, 0, 0, 0};
  u64 ignore_action[4] = {1, 0, 0, 0};
  for (int sig = 1; sig <= HEARTH_NSIG; sig++) {
    u64 *action = sig == SIGPIPE && ignore_sigpipe ? ignore_action : default_action;
    syscall(SYS_rt_sigaction, sig, action, 0, KERNEL_SIGSET_BYTES); /* KILL/STOP fail: fine */
  }
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
  /* As systemd: refused for want of privilege (lowering it takes CAP_SYS_RESOURCE, which
   * a container may lack) is skipped, "assuming containerized execution". */
  if (written < 0 && (saved == EPERM || saved == EACCES)) return 0;
  return written == len ? 0 : -1;
}

/* Where clone3 cannot start the child in its cgroup: cgroup.procs
 * (Documentation/admin-guide/cgroup-v2.rst), where writing "0" moves the writer. */
static int join_cgroup(int cgroup_fd) {
  int procs = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (procs < 0) return -1;
  long written = write(procs, "0", 1);
  int saved = errno;
  close(procs);
  errno = saved;
  return written == 1 ? 0 : -1;
}

/* prctl's arguments are unsigned longs; a variadic call must pass them as such. */
static int prctl_long(int option, long a, long b, long c, long d) {
  return prctl(option, a, b, c, d);
}

/* ------------------------------------------------ capabilities (man 7 capabilities) */

/* capget/capset, _LINUX_CAPABILITY_VERSION_3: two data structs, capabilities 0-31 then 32-63. */
struct cap_header { u32 version; int pid; };
struct cap_data { u32 effective; u32 permitted; u32 inheritable; };

static int caps_read(struct cap_data caps[2]) {
  struct cap_header header = { LINUX_CAPABILITY_VERSION_3, 0 };
  return (int)syscall(SYS_capget, &header, caps);
}

static int caps_write(struct cap_data caps[2]) {
  struct cap_header header = { LINUX_CAPABILITY_VERSION_3, 0 };
  return (int)syscall(SYS_capset, &header, caps);
}

static int has_bit(u64 set, int cap) {
  return (set >> cap) & 1;
}

/*
 * Drops from the bounding set (and the inheritable set) every capability not in keep.
 * PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set, which PID 1 lacks (the kernel
 * leaves it out of init's effective set): it is raised first when permitted, as
 * systemd's capability_bounding_set_drop does. A drop that fails is fine if the
 * capability was not in the set anyway; EINVAL means past the kernel's last capability.
 */
static int drop_bounding_set(u64 keep) {
  struct cap_data caps[2];
  if (caps_read(caps) < 0) return -1;
  u32 setpcap = 1U << CAP_SETPCAP;
  if (!(caps[0].effective & setpcap) && (caps[0].permitted & setpcap)) {
    caps[0].effective |= setpcap;
    if (caps_write(caps) < 0) return -1;
  }
  for (int cap = 0; cap < 64; cap++) {
    if (has_bit(keep, cap)) continue;
    if (prctl_long(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;
      if (prctl_long(PR_CAPBSET_READ, cap, 0, 0, 0) != 0) return -1; /* errno: the drop's */
    }
    caps[cap >> 5].inheritable &= ~(1U << (cap & 31));
  }
  return caps_write(caps);
}

/*
 * Makes the ambient set exactly `wanted` (PR_CAP_AMBIENT_RAISE needs each capability
 * permitted and inheritable). Capabilities outside the bounding set are left out, as
 * systemd does. With also_inherit the inheritable set becomes the same set first; that
 * is done before the uid change, and the raise repeated after it, because setuid clears
 * the ambient set even with keep-caps (systemd's exec_invoke does the same two steps).
 */
static int apply_ambient(u64 wanted, int also_inherit) {
  u64 set = 0;
  for (int cap = 0; cap < 64; cap++)
    if (has_bit(wanted, cap) && prctl_long(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) set |= 1ULL << cap;
  if (also_inherit) {
    struct cap_data caps[2];
    if (caps_read(caps) < 0) return -1;
    caps[0].inheritable = (u32)set;
    caps[1].inheritable = (u32)(set >> 32);
    if (caps_write(caps) < 0) return -1;
  }
  if (prctl_long(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return -1;
  for (int cap = 0; cap < 64; cap++)
    if (has_bit(set, cap) && prctl_long(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return -1;
  return 0;
}

/* ------------------------------------------------ the private mount namespace */

/* struct mount_attr of mount_setattr(2), MOUNT_ATTR_SIZE_VER0. */
struct mount_attr { u64 attr_set; u64 attr_clr; u64 propagation; u64 userns_fd; };

/* Linux < 5.12 (no mount_setattr): a bind remount resets the per-mount flags it is not
 * given, so it gets those statfs reports, changed as asked. */
static int remount_legacy(const char *path, u64 set, u64 clear) {
  u64 fs[STATFS_SIZE / 8];
  if (syscall(SYS_statfs, path, fs) < 0) return -1;
  u64 have = fs[STATFS_FLAGS / 8];
  u64 attrs = ((have & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC)) | set) & ~clear;
  unsigned long flags = MS_BIND | MS_REMOUNT | (unsigned long)attrs;
  if (have & ST_NOATIME) flags |= MS_NOATIME;
  if (have & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (have & ST_RELATIME) flags |= MS_RELATIME;
  return mount(0, path, 0, flags, 0);
}

/* The flags of the one mount at path (a mount point: the plan binds a path onto itself
 * first where it is not one). These are our namespace's copies: the host's are untouched. */
static int set_mount_attrs(const char *path, u64 set, u64 clear, i64 spawn_flags) {
  if (!(spawn_flags & SPAWN_LEGACY_REMOUNT)) {
    struct mount_attr attr = { set, clear, 0, 0 };
    if (syscall(SYS_mount_setattr, (long)AT_FDCWD, path, (long)AT_NO_AUTOMOUNT, &attr, (long)MOUNT_ATTR_SIZE_VER0) == 0)
      return 0;
    if (errno != ENOSYS) return -1;
  }
  return remount_legacy(path, set, clear);
}

/*
 * Hides path. A directory gets an empty read-only tmpfs of mode 000 over it. Anything
 * else gets /dev/null bound over it, remounted read-only and nodev: opening a device
 * node on a nodev mount fails with EACCES, for root too (tmpfs refuses a non-directory
 * mount point with ENOTDIR, which tells the two apart).
 */
static int make_inaccessible(const char *path) {
  unsigned long locked = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (mount("tmpfs", path, "tmpfs", locked, "mode=000") == 0) return 0;
  if (errno != ENOTDIR) return -1;
  if (mount("/dev/null", path, 0, MS_BIND, 0) < 0) return -1;
  return mount(0, path, 0, MS_BIND | MS_REMOUNT | locked, 0);
}

static int make_file(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

static int apply_mount_op(const struct mount_op *op, i64 spawn_flags) {
  unsigned long attrs = (unsigned long)op->attr_set;
  switch (op->kind) {
    case MOUNT_BIND: return mount(op->source, op->path, 0, MS_BIND | (op->flags & MOUNT_RECURSIVE ? MS_REC : 0), 0);
    case MOUNT_TMPFS: return mount("tmpfs", op->path, "tmpfs", attrs, op->data);
    case MOUNT_SETATTR: return set_mount_attrs(op->path, op->attr_set, op->attr_clear, spawn_flags);
    case MOUNT_INACCESSIBLE: return make_inaccessible(op->path);
    case MOUNT_MKDIR: return mkdir(op->path, 0755) == 0 || errno == EEXIST ? 0 : -1;
    case MOUNT_MKFILE: return make_file(op->path);
    case MOUNT_SYMLINK: return symlink(op->source, op->path);
    case MOUNT_MOVE: return mount(op->source, op->path, 0, MS_MOVE, 0);
    case MOUNT_PROC: return mount("proc", op->path, "proc", attrs, op->data);
    default: errno = EINVAL; return -1;
  }
}

/* A namespace of our own, where nothing mounted propagates back to the host; mounts
 * the host makes later still arrive (MS_SLAVE, as systemd does). Then the plan. */
static void apply_mounts(struct spawn_request *req) {
  if (unshare(CLONE_NEWNS) < 0 || mount(0, "/", 0, MS_REC | MS_SLAVE, 0) < 0) child_fail(req, STAGE_MOUNT_NAMESPACE);
  for (i64 i = 0; i < req->mount_count; i++) {
    const struct mount_op *op = req->mounts + i;
    if (apply_mount_op(op, req->flags) < 0 && !(errno == ENOENT && (op->flags & MOUNT_OPTIONAL))) {
      req->failed_index = i;
      child_fail(req, STAGE_MOUNTS);
    }
  }
}

/* struct ifreq (man 7 netdevice): the name in 16 bytes, then the flags (a short) in a
 * union of 24. A new network namespace has its loopback down: up, as systemd does. */
static int loopback_up(void) {
  char ifr[40] = "lo";
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int result = ioctl(fd, SIOCGIFFLAGS, ifr);
  if (result == 0) {
    *(short *)(ifr + 16) |= IFF_UP;
    result = ioctl(fd, SIOCSIFFLAGS, ifr);
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return result;
}

/* Each program in turn (src/exec/seccomp.ts puts the one that may refuse prctl last). */
static int load_seccomp(struct spawn_request *req) {
  const char *at = req->seccomp, *end = req->seccomp + req->seccomp_length;
  while (at < end) {
    u64 count = *(const u64 *)at;
    struct sock_fprog program = { (unsigned short)count, at + 8 };
    if (prctl(PR_SET_SECCOMP, (long)SECCOMP_MODE_FILTER, &program, 0L, 0L) < 0) return -1;
    at += 8 + 8 * count;
  }
  return 0;
}

static int join_namespaces(struct spawn_request *req) {
  static const int types[4] = { CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS };
  for (int i = 0; i < 4; i++)
    if (req->join_ns[i] >= 0 && setns((int)req->join_ns[i], types[i]) < 0) return -1;
  return 0;
}

static void write_pid_slots(struct spawn_request *req) {
  i64 pid = syscall(SYS_getpid);
  for (char *const *slot = req->pid_slots; *slot; slot++) format_decimal(pid, *slot);
}

extern int ioctl(int fd, unsigned long request, ...);

/* TTYReset=: termios to sane values, as systemd's reset_terminal_fd (the kernel's struct
 * termios: iflag, oflag, cflag, lflag as u32 from offset 0). */
static void reset_terminal(int fd) {
  u32 termios[(TERMIOS_SIZE + 3) / 4];
  ioctl(fd, TIOCNXCL); /* leave exclusive mode */
  if (ioctl(fd, TCGETS, termios) < 0) return;
  termios[0] = (termios[0] & ~(u32)TTY_IFLAG_CLEAR) | TTY_IFLAG_SET;
  termios[1] |= TTY_OFLAG_SET;
  termios[2] |= TTY_CFLAG_SET;
  termios[3] = TTY_LFLAG;
  ioctl(fd, TCSETS, termios);
  ioctl(fd, TCFLSH, (long)TCIOFLUSH);
}

/* "/dev/ttyN": N, a virtual console; else -1. */
static int vt_number(const char *path) {
  const char *p = path;
  const char *prefix = "/dev/tty";
  while (*prefix) if (*p++ != *prefix++) return -1;
  if (*p < '1' || *p > '9') return -1;
  int n = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    n = n * 10 + (*p - '0');
  }
  return n;
}

/* The terminal at tty_path, as systemd's exec_context_tty_reset and acquire_terminal do,
 * without ever blocking (the manager waits while the child runs): opened O_NONBLOCK, then
 * made blocking again. Returns the fd that TTY_FD entries become, or -1. */
static int open_terminal(struct spawn_request *req) {
  i64 flags = req->flags;
  int fd = open(req->tty_path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  if (flags & SPAWN_TTY_RESET) reset_terminal(fd);
  if (flags & SPAWN_TTY_VHANGUP) {
    ioctl(fd, TIOCVHANGUP); /* every open file of it is hung up, this one too: open again */
    close(fd);
    fd = open(req->tty_path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
  }
  if (flags & SPAWN_TTY_VT_DISALLOCATE) {
    int vt = vt_number(req->tty_path);
    int console = vt > 0 ? open("/dev/tty0", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK) : -1;
    if (console >= 0) {
      ioctl(console, VT_DISALLOCATE, (long)vt); /* EBUSY while it is shown: then only cleared */
      close(console);
    }
    write(fd, "\033[r\033[H\033[3J", 10); /* scroll region, home, scrollback cleared */
  }
  /* TIOCSCTTY: 0 fails (EPERM) when another session has it; 1 takes it (CAP_SYS_ADMIN). */
  if ((flags & SPAWN_TTY_CONTROLLING) && ioctl(fd, TIOCSCTTY, (flags & SPAWN_TTY_FORCE) ? 1L : 0L) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) return -1;
  return fd;
}

/* The fd_sources entries that name the terminal become the fd open_terminal made. */
static int place_terminal(struct spawn_request *req) {
  int fd = open_terminal(req);
  if (fd < 0) return -1;
  for (int i = 0; i < (int)req->fd_count; i++) if (req->fd_sources[i] == TTY_FD) req->fd_sources[i] = fd;
  return 0;
}

/* Formats "A A 1\n" (an id mapped to itself) at out; returns the length. */
static int id_line(char *out, u32 id) {
  char digits[10];
  int n = 0, len = 0;
  do digits[n++] = (char)('0' + id % 10); while ((id /= 10) > 0);
  for (int pass = 0; pass < 2; pass++) {
    for (int i = n - 1; i >= 0; i--) out[len++] = digits[i];
    out[len++] = ' ';
  }
  out[len++] = '1';
  out[len++] = '\n';
  return len;
}

static int write_proc_file(int pid, const char *name, const char *text, int len) {
  char path[48] = "/proc/";
  int at = 6;
  char digits[10];
  int n = 0;
  do digits[n++] = (char)('0' + pid % 10); while ((pid /= 10) > 0);
  while (n > 0) path[at++] = digits[--n];
  path[at++] = '/';
  for (const char *c = name; *c; c++) path[at++] = *c;
  path[at] = 0;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long wrote = write(fd, text, (size_t)len);
  int saved = errno;
  close(fd);
  errno = saved;
  return wrote == len ? 0 : -1;
}

/*
 * The maps of a private user namespace, as systemd's PrivateUsers=: root and the
 * service's user (and group) map to themselves, every other id shows as nobody. A
 * manager that is not root may only map its own ids, and must deny setgroups first.
 */
static int write_id_maps(int pid, u32 uid, u32 gid) {
  char map[48];
  int len;
  if (getuid() == 0) {
    len = id_line(map, 0);
    if (uid != 0) len += id_line(map + len, uid);
    if (write_proc_file(pid, "uid_map", map, len) < 0) return -1;
    len = id_line(map, 0);
    if (gid != 0) len += id_line(map + len, gid);
    return write_proc_file(pid, "gid_map", map, len);
  }
  if (write_proc_file(pid, "setgroups", "deny", 4) < 0) return -1;
  if (write_proc_file(pid, "uid_map", map, id_line(map, getuid())) < 0) return -1;
  return write_proc_file(pid, "gid_map", map, id_line(map, getgid()));
}

/*
 * PrivateUsers=: the child enters a user namespace of its own. Its maps must be written
 * by a process that keeps CAP_SETUID where the child was: a helper forked (a plain
 * fork: the raw clone with SIGCHLD, a copy of this memory, never the parent's) before
 * the unshare, which writes them once told and exits with 0 or the errno. After this
 * the child has every capability in its namespace and none outside it, and the
 * bounding set is full again (the kernel's set_cred_user_ns): it is dropped after.
 */
static int private_users(u32 uid, u32 gid) {
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) return -1;
  long helper = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
  if (helper < 0) {
    int saved = errno;
    close(go[0]);
    close(go[1]);
    errno = saved;
    return -1;
  }
  if (helper == 0) {
    close(go[1]);
    char byte;
    long got;
    while ((got = read(go[0], &byte, 1)) < 0 && errno == EINTR) {}
    if (got != 1) _exit(EINTR); /* the unshare failed: nothing to write */
    _exit(write_id_maps(getppid(), uid, gid) < 0 ? (errno & 0xff) : 0);
  }
  close(go[0]);
  int made = unshare(CLONE_NEWUSER);
  int saved = errno;
  if (made == 0) write(go[1], "x", 1);
  close(go[1]);
  int status = 0;
  while (waitpid((int)helper, &status, 0) < 0 && errno == EINTR) {}
  if (made < 0) {
    errno = saved;
    return -1;
  }
  /* exited with code 0: WIFEXITED and WEXITSTATUS in one test (status is code << 8) */
  if (status != 0) {
    errno = (status & 0x7f) == 0 ? (status >> 8) & 0xff : ECHILD;
    return -1;
  }
  return 0;
}

/* The order follows systemd's exec_child: into the cgroup first, unless clone3 started
 * the child there (so that everything the child does is accounted there), privileged steps (rlimits, scheduling,
 * oom_score_adj, mounts, the bounding set) before dropping privileges, chdir after (as
 * the service's user, inside the new mounts). */
static int child_main(struct spawn_request *req, int must_join) {
  i64 flags = req->flags;
  int ambient = (flags & SPAWN_CAP_AMBIENT) != 0;
  reset_signal_dispositions((flags & SPAWN_IGNORE_SIGPIPE) != 0);
  if (must_join && join_cgroup((int)req->cgroup_fd) < 0) child_fail(req, STAGE_CGROUP);
  if ((flags & SPAWN_SETSID) && setsid() < 0) child_fail(req, STAGE_SETSID);
  /* The terminal is opened in the manager's mount namespace (the unit's /dev may be private). */
  if (req->tty_path && place_terminal(req) < 0) child_fail(req, STAGE_TTY);
  /* Before the fds are placed, which could put another over them. */
  if (join_namespaces(req) < 0) child_fail(req, STAGE_NAMESPACES);
  if (place_fds(req) < 0) child_fail(req, STAGE_FDS);
  if (close_fds_from((int)req->fd_count) < 0) child_fail(req, STAGE_CLOSE_FDS);
  if (apply_rlimits(req) < 0) child_fail(req, STAGE_RLIMIT);
  if ((flags & SPAWN_SET_NICE) && setpriority(PRIO_PROCESS, 0, (int)req->nice) < 0)
    child_fail(req, STAGE_NICE);
  if ((flags & SPAWN_SET_IOPRIO) && syscall(SYS_ioprio_set, (long)IOPRIO_WHO_PROCESS, 0L, req->ioprio) < 0)
    child_fail(req, STAGE_IOPRIO);
  if (req->cpu_mask_bytes > 0 && syscall(SYS_sched_setaffinity, 0L, req->cpu_mask_bytes, req->cpu_mask) < 0)
    child_fail(req, STAGE_CPU_AFFINITY);
  if (flags & SPAWN_SET_SCHED) {
    int param[1] = { (int)req->sched_priority }; /* struct sched_param: one int */
    if (syscall(SYS_sched_setscheduler, 0L, (long)req->sched_policy, param) < 0) child_fail(req, STAGE_CPU_SCHEDULING);
  }
  if ((flags & SPAWN_SET_OOM) && write_oom_score_adj(req->oom_score_adj) < 0)
    child_fail(req, STAGE_OOM_SCORE_ADJ);
  if (flags & SPAWN_SET_UMASK) umask((u32)req->umask);
  if (req->unshare_flags && unshare((int)req->unshare_flags) < 0) child_fail(req, STAGE_NAMESPACES);
  if ((req->unshare_flags & CLONE_NEWNET) && loopback_up() < 0) child_fail(req, STAGE_LOOPBACK);
  /* Mount steps are never made outside a namespace of their own. */
  if (((flags & SPAWN_MOUNT_NAMESPACE) || req->mount_count > 0) && req->join_ns[0] < 0) apply_mounts(req);
  /* The groups before a private user namespace, where ids other than the unit's own are unmapped. */
  if ((flags & SPAWN_SET_GROUPS) && syscall(SYS_setgroups, req->group_count, req->groups) < 0)
    child_fail(req, STAGE_SETGROUPS);
  if ((flags & SPAWN_SET_GID) && syscall(SYS_setgid, req->gid) < 0) child_fail(req, STAGE_SETGID);
  if ((flags & SPAWN_PRIVATE_USERS) &&
      private_users((flags & SPAWN_SET_UID) ? (u32)req->uid : getuid(), (flags & SPAWN_SET_GID) ? (u32)req->gid : getgid()) < 0)
    child_fail(req, STAGE_USER_NAMESPACE);
  if ((flags & SPAWN_CAP_BOUNDING) && drop_bounding_set(req->bounding_keep) < 0)
    child_fail(req, STAGE_CAPABILITY_BOUNDING_SET);
  if (ambient && apply_ambient(req->ambient, 1) < 0) child_fail(req, STAGE_AMBIENT_CAPABILITIES);
  if (flags & SPAWN_SECUREBITS) {
    /* As systemd: not set when already so (setting needs CAP_SETPCAP); keep-caps joins
     * them when ambient capabilities must survive the change of user. */
    long bits = (long)req->secure_bits | (ambient && req->uid != 0 ? SECBIT_KEEP_CAPS : 0);
    if (prctl_long(PR_GET_SECUREBITS, 0, 0, 0, 0) != bits && prctl_long(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
      child_fail(req, STAGE_SECURE_BITS);
  }
  if (flags & SPAWN_SET_UID) {
    /* keep-caps: the permitted set survives the change to a non-zero uid (execve resets it) */
    if (ambient && req->uid != 0 && !(flags & SPAWN_SECUREBITS) && prctl_long(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
      child_fail(req, STAGE_AMBIENT_CAPABILITIES);
    if (syscall(SYS_setuid, req->uid) < 0) child_fail(req, STAGE_SETUID);
    if (ambient && apply_ambient(req->ambient, 0) < 0) child_fail(req, STAGE_AMBIENT_CAPABILITIES);
  }
  if (req->cwd && chdir(req->cwd) < 0) child_fail(req, STAGE_CHDIR);
  if ((flags & SPAWN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0)
    child_fail(req, STAGE_NO_NEW_PRIVS);
  write_pid_slots(req);
  set_signal_mask(0, 0);
  /* Last, so that nothing above is filtered: execve and exit are in every allow list. */
  if (req->seccomp_length > 0 && load_seccomp(req) < 0) child_fail(req, STAGE_SECCOMP);
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

/* The entry points of the two ways to clone: clone3 started the child in its cgroup,
 * clone did not (the child joins it, if it has one). */
static int child_in_cgroup(void *arg) {
  return child_main(arg, 0);
}

static int child_to_join(void *arg) {
  struct spawn_request *req = arg;
  return child_main(req, req->cgroup_fd >= 0);
}

/* ------------------------------------------------ clone3 (glibc 2.36 exports none) */

/* struct clone_args of clone3(2) up to its cgroup field (CLONE_ARGS_SIZE_VER2). */
struct clone_args {
  u64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/*
 * long hearth_clone3(struct clone_args *args, size_t size, int (*fn)(void *), void *arg):
 * the raw system call's result in the parent (the child's pid, or -errno). The child
 * starts on the stack the kernel set from args (stack + stack_size), calls fn(arg) there
 * and exits with its result, as glibc's clone does. The kernel keeps every register but
 * the result across the call (x86_64: but rcx and r11), and the child gets the parent's,
 * so fn and arg are still where the parent put them.
 */
extern long hearth_clone3(struct clone_args *args, size_t size, int (*fn)(void *), void *arg)
  __attribute__((visibility("hidden")));

#define STRINGIFY(x) #x
#define NUMBER(x) STRINGIFY(x)

#if defined(__x86_64__)
__asm__(
  ".text\n"
  ".globl hearth_clone3\n"
  ".hidden hearth_clone3\n"
  ".type hearth_clone3, @function\n"
  "hearth_clone3:\n"
  "  mov %rcx, %r8\n"                     /* arg: r8 survives the syscall, rcx does not */
  "  mov $" NUMBER(SYS_clone3) ", %eax\n"
  "  syscall\n"
  "  test %rax, %rax\n"
  "  jz 1f\n"
  "  ret\n"                                /* the parent: pid or -errno */
  "1:\n"
  "  xor %ebp, %ebp\n"                     /* the outermost frame */
  "  and $-16, %rsp\n"
  "  mov %r8, %rdi\n"
  "  call *%rdx\n"                         /* fn(arg) */
  "  mov %eax, %edi\n"
  "  mov $" NUMBER(SYS_exit) ", %eax\n"
  "  syscall\n"
  "  hlt\n"
  ".size hearth_clone3, .-hearth_clone3\n");
#elif defined(__aarch64__)
__asm__(
  ".text\n"
  ".globl hearth_clone3\n"
  ".hidden hearth_clone3\n"
  ".type hearth_clone3, %function\n"
  ".p2align 2\n"
  "hearth_clone3:\n"
  "  mov x8, #" NUMBER(SYS_clone3) "\n"
  "  svc #0\n"
  "  cbz x0, 1f\n"
  "  ret\n"                                /* the parent: pid or -errno */
  "1:\n"
  "  mov x29, #0\n"                        /* the outermost frame */
  "  mov x30, #0\n"
  "  mov x0, x3\n"
  "  blr x2\n"                             /* fn(arg) */
  "  mov x8, #" NUMBER(SYS_exit) "\n"
  "  svc #0\n"
  "  brk #0\n"
  ".size hearth_clone3, .-hearth_clone3\n");
#else
#error "hearth_clone3: x86_64 and aarch64 only"
#endif

/* Whether clone3 can start a child in a cgroup: decided at the first spawn into one
 * (Linux >= 5.7 can), then kept. 0: not yet known. */
enum { CLONE3_UNKNOWN, CLONE3_WORKS, CLONE3_UNAVAILABLE };
static int clone3_state = CLONE3_UNKNOWN;

/* clone3 itself missing (ENOSYS, Linux < 5.3, or a seccomp filter that hides it; EPERM
 * from the filters of container runtimes before they learnt ENOSYS), or a kernel that
 * knows no CLONE_INTO_CGROUP (EINVAL, E2BIG for the larger struct). */
static int clone3_refused(int err) {
  return err == ENOSYS || err == EPERM || err == EINVAL || err == E2BIG;
}

/* The child in its cgroup from its first instruction: no migration, so no wait for the
 * RCU grace period a write to cgroup.procs takes (see src/exec/cgroup.ts). Returns the
 * pid, or -1 with errno; CLONE3_UNAVAILABLE learnt when the kernel refuses it. */
static int clone_into_cgroup(struct spawn_request *req, char *stack) {
  struct clone_args args = {0};
  args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.stack = (u64)stack;
  args.stack_size = CHILD_STACK_SIZE;
  args.cgroup = (u64)req->cgroup_fd;
  long result = hearth_clone3(&args, CLONE_ARGS_SIZE_VER2, child_in_cgroup, req);
  if (result >= 0) {
    clone3_state = CLONE3_WORKS;
    return (int)result;
  }
  if (clone3_state == CLONE3_UNKNOWN && clone3_refused((int)-result)) clone3_state = CLONE3_UNAVAILABLE;
  errno = (int)-result;
  return -1;
}

/*
 * Returns the child's pid once it has called execve, or -1 with failed_stage and
 * failed_errno set (the child, if any, already reaped). All signals are blocked in the
 * calling thread around the clone so that no handler of the parent runs in the child
 * before child_main has reset them all to SIG_DFL.
 */
int hearth_spawn(struct spawn_request *req) {
  req->failed_errno = 0;
  req->failed_stage = STAGE_NONE;
  req->failed_index = 0;
  int into_cgroup = req->cgroup_fd >= 0 && !(req->flags & SPAWN_CGROUP_JOIN);
  u64 saved_mask;
  set_signal_mask(~0ULL, &saved_mask);
  int pid = -1, clone_errno = 0, stage = STAGE_CLONE;
  if (into_cgroup && clone3_state != CLONE3_UNAVAILABLE) {
    pid = clone_into_cgroup(req, child_stack);
    clone_errno = errno;
    /* a kernel that starts children elsewhere (EAGAIN, ENOMEM) and one that refuses this cgroup */
    if (pid < 0 && clone_errno != EAGAIN && clone_errno != ENOMEM) stage = STAGE_CGROUP;
  }
  if (!into_cgroup || clone3_state == CLONE3_UNAVAILABLE) {
    /* the stack grows down on x86_64 and arm64; both ABIs want it 16-byte aligned */
    pid = clone(child_to_join, child_stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, req);
    clone_errno = errno;
    stage = STAGE_CLONE;
  }
  if (pid > 0 && req->failed_stage != STAGE_NONE) reap_failed_child(pid);
  set_signal_mask(saved_mask, 0);
  if (pid < 0) {
    req->failed_errno = clone_errno;
    req->failed_stage = stage;
    return -1;
  }
  return req->failed_stage == STAGE_NONE ? pid : -1;
}

/* How children get into their cgroup: 0 not known yet, 1 clone3, 2 written to cgroup.procs. */
i64 hearth_cgroup_spawn_method(void) {
  return clone3_state;
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
  (void)unused;
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
    case 3: return STAGE_COUNT;
    case 4: return sizeof(struct mount_op);
    case 5: return sizeof(struct clone_args);
    default: return -1;
  }
}
