// Every number hearth hands to the kernel or to libc: flags, syscall numbers, struct
// layouts. One table, per architecture where x86_64 and aarch64 differ. The C helpers in
// ffi/native.c get the values they need from here (see nativeDefines), so no number is
// written twice.
//
// Sources, unless a line says otherwise: the Linux UAPI headers (include/uapi/...,
// arch/x86/include/uapi/asm/..., and asm-generic, which arm64 uses) as of Linux 6.1, and
// glibc 2.36 where libc defines its own value (SIGRTMIN, sigset_t).

import { SYSCALL_NUMBERS } from "./syscalls.ts";

export type Arch = "x64" | "arm64";

function detectArch(): Arch {
  const arch = process.arch;
  if (arch === "x64" || arch === "arm64") return arch;
  throw new Error(`hearth: unsupported architecture ${arch} (x64 and arm64 only)`);
}

export const ARCH: Arch = detectArch();

/** Pick the value for the architecture we run on. */
function perArch<T>(values: Record<Arch, T>): T {
  return values[ARCH];
}

/** The architectures ffi/native.c is built for (ffi/build-native.ts), in Bun's names. */
export const ARCHES: readonly Arch[] = ["x64", "arm64"];

// ---------------------------------------------------------------- syscall numbers
// From the one table per architecture (./syscalls.ts). Only those called through
// syscall(2): libc wrappers are unsafe in a CLONE_VM child (set*id), may be missing from
// an older libc (close_range, finit_module), or are run on a helper thread by
// ffi/async.ts (mount, umount2, finit_module, sync).
const CALLED = [
  "getpid", "setuid", "setgid", "setgroups", "rt_sigaction", "rt_sigprocmask", "getdents64", "close_range",
  "finit_module", "mount", "umount2", "kcmp", "sync", "sched_setaffinity", "sched_setscheduler", "ioprio_set",
  "ioprio_get", "capget", "capset", "statfs", "mount_setattr", "clone3", "exit", "clone",
] as const;
function calledSyscalls(arch: Arch): Record<(typeof CALLED)[number], number> {
  return Object.fromEntries(CALLED.map((name) => [name, SYSCALL_NUMBERS[arch][name]!])) as Record<(typeof CALLED)[number], number>;
}
export const SYS = calledSyscalls(ARCH);

/** sched_setscheduler policies (<linux/sched.h>), and the flag that drops them in children. */
export const SCHED = { other: 0, fifo: 1, rr: 2, batch: 3, idle: 5 } as const;
export const SCHED_RESET_ON_FORK = 0x40000000;

// ---------------------------------------------------------------- errno
// include/uapi/asm-generic/errno-base.h and errno.h; x86_64 and arm64 share them.
export const E = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, ECHILD: 10, EAGAIN: 11,
  ENOMEM: 12, EACCES: 13, EBUSY: 16, EEXIST: 17, ENODEV: 19, ENOTDIR: 20, EISDIR: 21,
  EINVAL: 22, EMFILE: 24, ENOTTY: 25, ENOSPC: 28, EROFS: 30, EPIPE: 32, ENAMETOOLONG: 36,
  ENOSYS: 38, ELOOP: 40, ENOTSOCK: 88, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99,
  ENETDOWN: 100, ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105, ENOTCONN: 107, ECONNREFUSED: 111,
  EINPROGRESS: 115,
} as const;

// ---------------------------------------------------------------- open(2), fcntl(2)
// include/uapi/asm-generic/fcntl.h; arm64 overrides the directory flags in
// arch/arm64/include/uapi/asm/fcntl.h.
const O_DIRECTORY_BY_ARCH = { x64: 0o200000, arm64: 0o40000 };
export const O = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, NOCTTY: 0o400, TRUNC: 0o1000,
  APPEND: 0o2000, NONBLOCK: 0o4000, CLOEXEC: 0o2000000,
  DIRECTORY: O_DIRECTORY_BY_ARCH[ARCH],
  NOFOLLOW: perArch({ x64: 0o400000, arm64: 0o100000 }),
} as const;

export const F = {
  DUPFD: 0, GETFD: 1, SETFD: 2, GETFL: 3, SETFL: 4,
  DUPFD_CLOEXEC: 1030, // F_LINUX_SPECIFIC_BASE (1024) + 6
} as const;
export const FD_CLOEXEC = 1;

// ---------------------------------------------------------------- terminals
// include/uapi/asm-generic/ioctls.h (the same on x86_64 and arm64), include/uapi/linux/vt.h.
export const TTY_IOCTL = {
  TCGETS: 0x5401, TCSETS: 0x5402, TCFLSH: 0x540b, TIOCNXCL: 0x540d, TIOCSCTTY: 0x540e,
  TIOCVHANGUP: 0x5437, VT_DISALLOCATE: 0x5608,
  TIOCGPTN: 0x80045430, TIOCSPTLCK: 0x40045431, // a pseudo-terminal's number; unlock its slave
} as const;
/** include/uapi/asm-generic/termbits.h: the termios bits a reset sets (systemd's reset_terminal_fd). */
export const TERMIOS = {
  size: 36, // struct termios: 4 tcflag_t, c_line, c_cc[19]
  IGNBRK: 0o1, BRKINT: 0o2, ISTRIP: 0o40, INLCR: 0o100, IGNCR: 0o200, ICRNL: 0o400, IUCLC: 0o1000,
  IXON: 0o2000, IXANY: 0o4000, IXOFF: 0o10000, IMAXBEL: 0o20000, IUTF8: 0o40000,
  OPOST: 0o1, ONLCR: 0o4, CREAD: 0o200,
  ISIG: 0o1, ICANON: 0o2, ECHO: 0o10, ECHOE: 0o20, ECHOK: 0o40, ECHOCTL: 0o1000, ECHOKE: 0o4000, IEXTEN: 0o100000,
  TCIOFLUSH: 2,
} as const;

// ---------------------------------------------------------------- sockets
// include/linux/socket.h (AF_*, MSG_*, SCM_*), include/linux/net.h (SOCK_*),
// include/uapi/asm-generic/socket.h (SOL_SOCKET, SO_*; x86_64 uses the same values).
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK = {
  STREAM: 1, DGRAM: 2, RAW: 3, SEQPACKET: 5,
  NONBLOCK: O.NONBLOCK, CLOEXEC: O.CLOEXEC, // by definition equal to the O_ flags
} as const;
export const SOL_SOCKET = 1;
export const SO = {
  REUSEADDR: 2, TYPE: 3, ERROR: 4, SNDBUF: 7, RCVBUF: 8, KEEPALIVE: 9, REUSEPORT: 15,
  PASSCRED: 16, PEERCRED: 17, TIMESTAMP: 29, ACCEPTCONN: 30, SNDBUFFORCE: 32, RCVBUFFORCE: 33, PASSSEC: 34,
  TIMESTAMPNS: 35, PROTOCOL: 38, DOMAIN: 39,
} as const;
/** The ancillary data SO_TIMESTAMP and SO_TIMESTAMPNS attach to each datagram (64-bit: the _OLD values). */
export const SCM_TIMESTAMP = SO.TIMESTAMP;
export const SCM_TIMESTAMPNS = SO.TIMESTAMPNS;
/** include/uapi/linux/in.h (IPPROTO_*, IP_PKTINFO), in6.h (IPV6_*), tcp.h (TCP_NODELAY), netlink.h (NETLINK_PKTINFO). */
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IP_PKTINFO = 8;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50; // the ancillary data IPV6_RECVPKTINFO attaches
export const SOL_NETLINK = 270;
export const NETLINK_PKTINFO = 3;
export const TCP_NODELAY = 1;
/** include/uapi/linux/kcmp.h: compare two fds' open file descriptions. */
export const KCMP_FILE = 0;
export const SCM_RIGHTS = 1;
export const SCM_CREDENTIALS = 2;
export const MSG = {
  CTRUNC: 0x8, TRUNC: 0x20, DONTWAIT: 0x40, NOSIGNAL: 0x4000, CMSG_CLOEXEC: 0x40000000,
} as const;
/** SCM_MAX_FD, include/net/scm.h: the kernel passes at most this many fds per message. */
export const SCM_MAX_FD = 253;

// ---------------------------------------------------------------- struct layouts
// Both architectures are LP64 little-endian, so these are the same on each.
// Offsets are in bytes.

/** struct iovec (man 2 readv): void *iov_base; size_t iov_len. */
export const IOVEC = { size: 16, base: 0, len: 8 } as const;

/**
 * struct msghdr (man 2 recvmsg; include/linux/socket.h user_msghdr): msg_name (ptr),
 * msg_namelen (u32, then 4 bytes of padding), msg_iov (ptr), msg_iovlen (size_t),
 * msg_control (ptr), msg_controllen (size_t), msg_flags (int, then padding).
 */
export const MSGHDR = {
  size: 56, name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48,
} as const;

/**
 * struct mmsghdr (man 2 recvmmsg): a struct msghdr, then msg_len (unsigned int, the bytes
 * received into it), padded to the msghdr's 8-byte alignment.
 */
export const MMSGHDR = { size: 64, hdr: 0, len: 56 } as const;

/**
 * struct cmsghdr (man 3 cmsg): cmsg_len (size_t), cmsg_level (int), cmsg_type (int),
 * then the data, aligned to sizeof(size_t) as CMSG_ALIGN does.
 */
export const CMSGHDR = { size: 16, len: 0, level: 8, type: 12, data: 16, align: 8 } as const;

/** struct ucred (man 7 unix): pid_t pid; uid_t uid; gid_t gid — three 32-bit fields. */
export const UCRED = { size: 12, pid: 0, uid: 4, gid: 8 } as const;

/** struct sockaddr_un (man 7 unix): sa_family_t (u16) then char sun_path[108]. */
export const SOCKADDR_UN = { size: 110, family: 0, path: 2, pathMax: 108 } as const;

/**
 * struct sockaddr_in (include/uapi/linux/in.h): sa_family_t sin_family (u16); __be16
 * sin_port; struct in_addr sin_addr (4 bytes); padding to 16 bytes.
 */
export const SOCKADDR_IN = { size: 16, family: 0, port: 2, addr: 4 } as const;

/**
 * struct sockaddr_in6 (include/uapi/linux/in6.h): sa_family_t sin6_family (u16); __be16
 * sin6_port; __be32 sin6_flowinfo; struct in6_addr sin6_addr (16 bytes); __u32
 * sin6_scope_id.
 */
export const SOCKADDR_IN6 = { size: 28, family: 0, port: 2, flowinfo: 4, addr: 8, scopeId: 24 } as const;

/** struct __kernel_sockaddr_storage (include/uapi/linux/socket.h): room for any address. */
export const SOCKADDR_STORAGE_SIZE = 128;

/**
 * struct epoll_event (include/uapi/linux/eventpoll.h): u32 events; u64 data. x86_64
 * declares it __attribute__((packed)) (12 bytes), every other architecture pads it
 * to 16 bytes. Used only by ffi/native.c.
 */
const EPOLL_EVENT_PACKED_BY_ARCH = { x64: 1, arm64: 0 };
export const EPOLL_EVENT_PACKED = EPOLL_EVENT_PACKED_BY_ARCH[ARCH];

// ---------------------------------------------------------------- epoll
// include/uapi/linux/eventpoll.h
export const EPOLL = {
  IN: 0x001, OUT: 0x004, ERR: 0x008, HUP: 0x010, RDHUP: 0x2000, ONESHOT: 1 << 30,
  CTL_ADD: 1, CTL_DEL: 2, CTL_MOD: 3, CLOEXEC: O.CLOEXEC,
} as const;

// ---------------------------------------------------------------- processes
// include/uapi/linux/wait.h
export const WNOHANG = 1;
export const WALL = 0x40000000;
// include/uapi/linux/sched.h
export const CLONE_VM = 0x100;
export const CLONE_VFORK = 0x4000;
/**
 * clone3(2) (Linux 5.3; include/uapi/linux/sched.h): CLONE_INTO_CGROUP (Linux 5.7) starts
 * the child in the cgroup whose directory fd is in struct clone_args.cgroup, the last
 * field of its CLONE_ARGS_SIZE_VER2 (88 bytes: eleven u64).
 */
export const CLONE_INTO_CGROUP = 0x2_0000_0000;
export const CLONE_ARGS_SIZE_VER2 = 88;
// include/uapi/linux/prctl.h
export const PR = {
  SET_PDEATHSIG: 1, SET_NAME: 15, SET_CHILD_SUBREAPER: 36, GET_CHILD_SUBREAPER: 37,
  SET_NO_NEW_PRIVS: 38, GET_NO_NEW_PRIVS: 39,
} as const;
// include/uapi/linux/resource.h
export const PRIO_PROCESS = 0;
// include/uapi/asm-generic/signal-defs.h
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;

/**
 * Resource limits (include/uapi/asm-generic/resource.h; x86_64 and arm64 both use the
 * generic numbering). Keys are the lower-case names without RLIMIT_, as in the config.
 */
export const RLIMIT: Readonly<Record<string, number>> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7,
  memlock: 8, as: 9, locks: 10, sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14,
  rttime: 15,
};
/** RLIM_INFINITY: (~0UL) on 64-bit architectures. */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

// ---------------------------------------------------------------- the execution context
// What the spawner's child applies before execve beyond ids and limits (ffi/native.c):
// CPU affinity, I/O priority, capabilities, a private mount namespace.

/**
 * Capabilities by number (include/uapi/linux/capability.h, Linux 5.9: CAP_LAST_CAP is
 * CAP_CHECKPOINT_RESTORE = 40), so a name's index is its bit. The same on every
 * architecture.
 */
export const CAPABILITY_NAMES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;
/**
 * capget(2)/capset(2) (include/uapi/linux/capability.h): struct __user_cap_header_struct
 * { u32 version; int pid } and, for version 3, two struct __user_cap_data_struct
 * { u32 effective, permitted, inheritable } (capabilities 0-31, then 32-63).
 */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** include/uapi/linux/securebits.h: the bits of PR_SET_SECUREBITS, by systemd's SecureBits= names. */
export const SECUREBITS: Readonly<Record<string, number>> = {
  noroot: 1 << 0, "noroot-locked": 1 << 1, "no-setuid-fixup": 1 << 2, "no-setuid-fixup-locked": 1 << 3,
  "keep-caps": 1 << 4, "keep-caps-locked": 1 << 5,
};

// include/uapi/linux/prctl.h
export const PR_CAP = {
  SET_KEEPCAPS: 8, CAPBSET_READ: 23, CAPBSET_DROP: 24, GET_SECUREBITS: 27, SET_SECUREBITS: 28,
  CAP_AMBIENT: 47, AMBIENT_IS_SET: 1, AMBIENT_RAISE: 2, AMBIENT_LOWER: 3, AMBIENT_CLEAR_ALL: 4,
} as const;

/**
 * ioprio_set(2) (include/uapi/linux/ioprio.h): the value is class << 13 | level, the
 * level 0 (highest) to 7; the target is IOPRIO_WHO_PROCESS with who = 0 (the caller).
 */
export const IOPRIO = {
  CLASS_NONE: 0, CLASS_RT: 1, CLASS_BE: 2, CLASS_IDLE: 3, CLASS_SHIFT: 13, WHO_PROCESS: 1,
} as const;

// include/uapi/linux/sched.h
export const CLONE_NEWNS = 0x00020000;
// mount(2) flags: MS, below (early boot uses them too).
/**
 * mount_setattr(2) (Linux 5.12; include/uapi/linux/mount.h): struct mount_attr { u64
 * attr_set, attr_clr, propagation, userns_fd } (MOUNT_ATTR_SIZE_VER0 = 32 bytes);
 * AT_RECURSIVE from include/uapi/linux/fcntl.h, AT_FDCWD = -100 from the same file.
 */
export const MOUNT_ATTR = { RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SIZE_VER0: 32 } as const;
export const AT_FDCWD = -100;
export const AT_RECURSIVE = 0x8000;
/** AT_NO_AUTOMOUNT: an autofs mount point is changed, not triggered. */
export const AT_NO_AUTOMOUNT = 0x800;
/** The other namespaces a unit may have (include/uapi/linux/sched.h). */
export const CLONE_NS = { NEWUTS: 0x04000000, NEWIPC: 0x08000000, NEWUSER: 0x10000000, NEWNET: 0x40000000 } as const;
/** A new network namespace's loopback brought up (include/uapi/linux/sockios.h, if.h). */
export const NETDEV = { SIOCGIFFLAGS: 0x8913, SIOCSIFFLAGS: 0x8914, IFF_UP: 0x1 } as const;
/** prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) (include/uapi/linux/prctl.h, seccomp.h). */
export const SECCOMP = { PR_SET_SECCOMP: 22, MODE_FILTER: 2 } as const;
/**
 * struct statfs (man 2 statfs; include/uapi/asm-generic/statfs.h, which x86_64 uses too:
 * eleven 8-byte words on LP64, then f_spare[4]), 120 bytes with f_flags at 80. The
 * ST_* bits of f_flags (include/linux/statfs.h) that a bind remount must keep.
 */
export const STATFS = { size: 120, flags: 80 } as const;
export const ST = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, NOATIME: 0x400, NODIRATIME: 0x800, RELATIME: 0x1000,
} as const;

// ---------------------------------------------------------------- signals
// arch/x86/include/uapi/asm/signal.h and include/uapi/asm-generic/signal.h (arm64):
// the numbers 1..31 are identical on both; kept per architecture so that a third one
// (mips, alpha, sparc number them differently) has an obvious place.
const LINUX_GENERIC_SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7,
  SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13,
  SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};
const SIGNALS_BY_ARCH: Record<Arch, Readonly<Record<string, number>>> = {
  x64: LINUX_GENERIC_SIGNALS,
  arm64: LINUX_GENERIC_SIGNALS,
};
export const SIGNALS = SIGNALS_BY_ARCH[ARCH];
/** Aliases accepted when parsing (signal(7)). */
export const SIGNAL_ALIASES: Readonly<Record<string, string>> = {
  SIGIOT: "SIGABRT", SIGPOLL: "SIGIO", SIGCLD: "SIGCHLD",
};
/** glibc reserves kernel signals 32 and 33 for itself, so its SIGRTMIN is 34. */
export const SIGRTMIN = 34;
/** _NSIG - 1 (include/uapi/asm-generic/signal.h: _NSIG 64; x86_64 the same). */
export const SIGRTMAX = 64;
/** The kernel's sigset_t is 64 bits wide (the size rt_sigprocmask takes). */
export const KERNEL_SIGSET_BYTES = 8;

// ---------------------------------------------------------------- early boot and the way down
// include/uapi/linux/mount.h: mount(2) flags.
export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64,
  DIRSYNC: 128, NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192,
  REC: 16384, SILENT: 32768, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19,
  SHARED: 1 << 20, RELATIME: 1 << 21, I_VERSION: 1 << 23, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;
// include/linux/fs.h: umount2(2) flags.
export const MNT = { FORCE: 1, DETACH: 2, EXPIRE: 4 } as const;

/**
 * reboot(2) commands (include/uapi/linux/reboot.h, LINUX_REBOOT_CMD_*; glibc's RB_*
 * are the same numbers). Written as signed 32-bit values, which is how they travel.
 */
export const REBOOT_CMD = {
  RESTART: 0x01234567, HALT: 0xcdef0123 | 0, POWER_OFF: 0x4321fedc,
  CAD_ON: 0x89abcdef | 0, CAD_OFF: 0,
} as const;

// include/uapi/linux/time.h
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, BOOTTIME: 7 } as const;
/** struct timespec: time_t tv_sec; long tv_nsec (both 64-bit on LP64). */
export const TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;

// Bringing up the loopback interface: include/uapi/linux/sockios.h (the same numbers on
// x86_64 and arm64), include/uapi/linux/if.h (IFF_*, struct ifreq: a 16-byte name, then
// a 24-byte union whose first member for SIOC[GS]IFFLAGS is a short). AF_INET is with
// the other socket families above.
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const IFF = { UP: 0x1, LOOPBACK: 0x8, RUNNING: 0x40 } as const;
export const IFREQ = { size: 40, name: 0, nameMax: 16, flags: 16 } as const;

// ---------------------------------------------------------------- misc for other parts
// include/uapi/linux/watchdog.h: _IOR/_IOWR('W', n, ...) — the same on both
// architectures (the generic ioctl encoding).
export const WDIOC = {
  GETSUPPORT: 0x80285700, // struct watchdog_info, 40 bytes, identity at offset 8
  GETBOOTSTATUS: 0x80045702, // int: WDIOF_* flags of the last reboot (WDIOF_CARDRESET)
  SETOPTIONS: 0x80045704,
  KEEPALIVE: 0x80045705,
  SETTIMEOUT: 0xc0045706,
  GETTIMEOUT: 0x80045707,
  GETTIMELEFT: 0x8004570a, // int seconds; not every driver has it
} as const;

/** include/uapi/linux/watchdog.h: struct watchdog_info { u32 options; u32 firmware_version; u8 identity[32]; } */
export const WATCHDOG_INFO = { size: 40, options: 0, firmwareVersion: 4, identity: 8, identityMax: 32 } as const;
/** WDIOF_* option/status bits (same header). */
export const WDIOF = { CARDRESET: 0x0020, SETTIMEOUT: 0x0080, MAGICCLOSE: 0x0100, KEEPALIVEPING: 0x8000 } as const;
/** WDIOS_* for WDIOC_SETOPTIONS (same header). */
export const WDIOS = { DISABLECARD: 0x0001, ENABLECARD: 0x0002 } as const;

/**
 * The numbers ffi/native.c is compiled with for an architecture (-D flags, given by
 * ffi/build-native.ts). Names are the C names, prefixed HEARTH_ where the name would
 * clash with nothing but reads better that way.
 */
export function nativeDefines(arch: Arch): Record<string, string> {
  const SYS = calledSyscalls(arch);
  const SIGNALS = SIGNALS_BY_ARCH[arch];
  const defines: Record<string, number> = {
    SYS_getpid: SYS.getpid, SYS_setuid: SYS.setuid, SYS_setgid: SYS.setgid,
    SYS_setgroups: SYS.setgroups, SYS_rt_sigaction: SYS.rt_sigaction,
    SYS_rt_sigprocmask: SYS.rt_sigprocmask, SYS_getdents64: SYS.getdents64,
    SYS_close_range: SYS.close_range,
    O_RDONLY: O.RDONLY, O_WRONLY: O.WRONLY, O_CLOEXEC: O.CLOEXEC, O_DIRECTORY: O_DIRECTORY_BY_ARCH[arch],
    F_DUPFD_CLOEXEC: F.DUPFD_CLOEXEC,
    EINTR: E.EINTR, ENOSYS: E.ENOSYS,
    CLONE_VM, CLONE_VFORK, SIGCHLD: SIGNALS.SIGCHLD!, SIGPIPE: SIGNALS.SIGPIPE!,
    SIG_SETMASK, KERNEL_SIGSET_BYTES, HEARTH_NSIG: SIGRTMAX,
    PRIO_PROCESS, PR_SET_NO_NEW_PRIVS: PR.SET_NO_NEW_PRIVS,
    EPOLL_CLOEXEC: EPOLL.CLOEXEC, EPOLL_EVENT_PACKED: EPOLL_EVENT_PACKED_BY_ARCH[arch],
    // clone3 into the unit's cgroup
    SYS_clone3: SYS.clone3, SYS_exit: SYS.exit, CLONE_INTO_CGROUP, CLONE_ARGS_SIZE_VER2,
    E2BIG: E.E2BIG, EAGAIN: E.EAGAIN, ENOMEM: E.ENOMEM, EPERM: E.EPERM,
    // the execution context
    SYS_sched_setaffinity: SYS.sched_setaffinity, SYS_sched_setscheduler: SYS.sched_setscheduler, SYS_ioprio_set: SYS.ioprio_set,
    SYS_capget: SYS.capget, SYS_capset: SYS.capset, SYS_statfs: SYS.statfs,
    SYS_mount_setattr: SYS.mount_setattr,
    IOPRIO_WHO_PROCESS: IOPRIO.WHO_PROCESS,
    LINUX_CAPABILITY_VERSION_3, CAP_SETPCAP: CAPABILITY_NAMES.indexOf("CAP_SETPCAP"),
    PR_SET_KEEPCAPS: PR_CAP.SET_KEEPCAPS, PR_CAPBSET_READ: PR_CAP.CAPBSET_READ,
    PR_GET_SECUREBITS: PR_CAP.GET_SECUREBITS, PR_SET_SECUREBITS: PR_CAP.SET_SECUREBITS, SECBIT_KEEP_CAPS: SECUREBITS["keep-caps"]!,
    PR_CAPBSET_DROP: PR_CAP.CAPBSET_DROP, PR_CAP_AMBIENT: PR_CAP.CAP_AMBIENT,
    PR_CAP_AMBIENT_RAISE: PR_CAP.AMBIENT_RAISE, PR_CAP_AMBIENT_CLEAR_ALL: PR_CAP.AMBIENT_CLEAR_ALL,
    CLONE_NEWNS, MS_RDONLY: MS.RDONLY, MS_NOSUID: MS.NOSUID, MS_NODEV: MS.NODEV,
    MS_NOEXEC: MS.NOEXEC, MS_REMOUNT: MS.REMOUNT, MS_NOATIME: MS.NOATIME,
    MS_NODIRATIME: MS.NODIRATIME, MS_RELATIME: MS.RELATIME, MS_BIND: MS.BIND, MS_REC: MS.REC,
    MS_SLAVE: MS.SLAVE, MOUNT_ATTR_RDONLY: MOUNT_ATTR.RDONLY, MOUNT_ATTR_SIZE_VER0: MOUNT_ATTR.SIZE_VER0,
    AT_FDCWD, AT_RECURSIVE, STATFS_SIZE: STATFS.size, STATFS_FLAGS: STATFS.flags,
    ST_NOSUID: ST.NOSUID, ST_NODEV: ST.NODEV, ST_NOEXEC: ST.NOEXEC, ST_NOATIME: ST.NOATIME,
    ST_NODIRATIME: ST.NODIRATIME, ST_RELATIME: ST.RELATIME,
    ENOENT: E.ENOENT, EINVAL: E.EINVAL, ENOTDIR: E.ENOTDIR, EEXIST: E.EEXIST, EACCES: E.EACCES,
    // the terminal of tty_path (struct termios is the kernel's, for TCGETS/TCSETS)
    O_RDWR: O.RDWR, O_NOCTTY: O.NOCTTY, O_NONBLOCK: O.NONBLOCK, F_GETFL: F.GETFL, F_SETFL: F.SETFL,
    TCGETS: TTY_IOCTL.TCGETS, TCSETS: TTY_IOCTL.TCSETS, TCFLSH: TTY_IOCTL.TCFLSH, TIOCNXCL: TTY_IOCTL.TIOCNXCL,
    TIOCSCTTY: TTY_IOCTL.TIOCSCTTY, TIOCVHANGUP: TTY_IOCTL.TIOCVHANGUP, VT_DISALLOCATE: TTY_IOCTL.VT_DISALLOCATE,
    TERMIOS_SIZE: TERMIOS.size, TCIOFLUSH: TERMIOS.TCIOFLUSH,
    TTY_IFLAG_CLEAR: TERMIOS.IGNBRK | TERMIOS.BRKINT | TERMIOS.ISTRIP | TERMIOS.INLCR | TERMIOS.IGNCR | TERMIOS.IUCLC,
    TTY_IFLAG_SET: TERMIOS.ICRNL | TERMIOS.IMAXBEL | TERMIOS.IUTF8,
    TTY_OFLAG_SET: TERMIOS.ONLCR | TERMIOS.OPOST,
    TTY_CFLAG_SET: TERMIOS.CREAD,
    TTY_LFLAG: TERMIOS.ISIG | TERMIOS.ICANON | TERMIOS.IEXTEN | TERMIOS.ECHO | TERMIOS.ECHOE | TERMIOS.ECHOK | TERMIOS.ECHOCTL | TERMIOS.ECHOKE,
    // the sandbox: mount plan, namespaces, seccomp
    MS_MOVE: MS.MOVE, O_CREAT: O.CREAT, AT_NO_AUTOMOUNT, ST_RDONLY: ST.RDONLY,
    CLONE_NEWNET: CLONE_NS.NEWNET, CLONE_NEWIPC: CLONE_NS.NEWIPC, CLONE_NEWUTS: CLONE_NS.NEWUTS, CLONE_NEWUSER: CLONE_NS.NEWUSER, SYS_clone: SYS.clone, ECHILD: E.ECHILD, AF_INET, SOCK_DGRAM: SOCK.DGRAM, SOCK_CLOEXEC: SOCK.CLOEXEC,
    SIOCGIFFLAGS: NETDEV.SIOCGIFFLAGS, SIOCSIFFLAGS: NETDEV.SIOCSIFFLAGS, IFF_UP: NETDEV.IFF_UP,
    PR_SET_SECCOMP: SECCOMP.PR_SET_SECCOMP, SECCOMP_MODE_FILTER: SECCOMP.MODE_FILTER,
  };
  return Object.fromEntries(Object.entries(defines).map(([k, v]) => [k, String(v)]));
}

/** timerfd_create(2) / timerfd_settime(2) flags (the same on x86_64 and aarch64). */
export const TFD = { NONBLOCK: 0o4000, CLOEXEC: 0o2000000, TIMER_ABSTIME: 1, TIMER_CANCEL_ON_SET: 2 } as const;
/** read(2) on a CANCEL_ON_SET timerfd after the wall clock was set. */
export const ECANCELED = 125;

/** inotify(7) event bits and inotify_init1 flags. */
export const IN = {
  MODIFY: 0x2, ATTRIB: 0x4, CLOSE_WRITE: 0x8, MOVED_FROM: 0x40, MOVED_TO: 0x80, CREATE: 0x100, DELETE: 0x200,
  DELETE_SELF: 0x400, MOVE_SELF: 0x800, UNMOUNT: 0x2000, Q_OVERFLOW: 0x4000, IGNORED: 0x8000,
  MASK_ADD: 0x20000000, // a second inotify_add_watch of the same inode adds to its mask
  NONBLOCK: 0o4000, CLOEXEC: 0o2000000,
} as const;

/** Errno names hearth accepts for system_call_error_number (src/exec/seccomp.ts, ffi/seccomp.ts; the same numbers on x86_64 and arm64). */
export const ERRNO_NUMBERS: Readonly<Record<string, number>> = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, ENOTDIR: 20,
  EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, EFBIG: 27, ENOSPC: 28, ESPIPE: 29,
  EROFS: 30, EMLINK: 31, EPIPE: 32, ERANGE: 34, ENOSYS: 38, ENOTSUP: 95, EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97, EADDRINUSE: 98, ECONNREFUSED: 111,
};

/** include/uapi/linux/ipc.h: the command that removes a System V IPC object (shmctl, semctl, msgctl). */
export const IPC_RMID = 0;
