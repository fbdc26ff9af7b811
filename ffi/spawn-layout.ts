// struct spawn_request of ffi/native.c in JS terms: its fields, flags, failure stages and
// mount steps. Kept apart from ffi/spawn.ts so that ffi/native.ts can check them against
// the compiled C when it loads (both import this file; neither imports the other's
// state).

/** enum spawn_stage in ffi/native.c, same order (checked at load against STAGE_COUNT). */
export const SPAWN_STAGES = [
  "none", "clone", "cgroup", "setsid", "tty", "fds", "close_fds", "rlimit", "nice", "ioprio",
  "cpu_affinity", "oom_score_adj", "namespaces", "loopback", "mount_namespace", "mounts",
  "capability_bounding_set", "ambient_capabilities", "setgroups", "setgid",
  "setuid", "chdir", "no_new_privs", "seccomp", "execve", "cpu_scheduling", "user_namespace", "secure_bits",
] as const;
export type SpawnStage = (typeof SPAWN_STAGES)[number];

/** The SPAWN_* flags of ffi/native.c. */
export const FLAG = {
  setsid: 1 << 0, uid: 1 << 1, gid: 1 << 2, groups: 1 << 3, umask: 1 << 4, nice: 1 << 5,
  oomScoreAdj: 1 << 6, noNewPrivileges: 1 << 7, ioprio: 1 << 8, capabilityBoundingSet: 1 << 9,
  ambientCapabilities: 1 << 10, legacyRemount: 1 << 11, ignoreSigpipe: 1 << 12,
  cgroupJoin: 1 << 13,
  // tty_path (SLOT.ttyPath): what the child does with it before exec
  ttyReset: 1 << 14, ttyVhangup: 1 << 15, ttyVtDisallocate: 1 << 16,
  ttyControlling: 1 << 17, ttyForce: 1 << 18,
  sched: 1 << 19, // schedPolicy / schedPriority
  privateUsers: 1 << 20, // a user namespace of its own (private_users)
  mountNamespace: 1 << 21, // a mount namespace of its own, with the mounts steps (if any) in it
  secureBits: 1 << 22, // secureBits set with PR_SET_SECUREBITS

} as const;

/** An fd_sources entry that stands for the terminal the child opens at tty_path. */
export const TTY_FD = -2;

/** Field indexes of struct spawn_request (every field is 8 bytes). */
export const SLOT = {
  path: 0, argv: 1, envp: 2, pidSlots: 3, fdSources: 4, fdCount: 5, cwd: 6, flags: 7,
  uid: 8, gid: 9, groups: 10, groupCount: 11, umask: 12, nice: 13, oomScoreAdj: 14,
  rlimits: 15, rlimitCount: 16, cgroupFd: 17, cpuMask: 18, cpuMaskBytes: 19, ioprio: 20,
  boundingKeep: 21, ambient: 22, mounts: 23, mountCount: 24, unshareFlags: 25, seccomp: 26,
  seccompLength: 27, joinNs: 28, failedErrno: 29, failedStage: 30, failedIndex: 31, ttyPath: 32,
  schedPolicy: 33, schedPriority: 34, secureBits: 35,
} as const;
export const SPAWN_REQUEST_SLOTS = 36;

/** struct mount_op: kind, flags, path, source, data, attr_set, attr_clear (8-byte cells). */
export const MOUNT_OP_SIZE = 56;
/** MOUNT_* kinds of ffi/native.c. */
export const MOUNT_KIND = {
  bind: 1, tmpfs: 2, setattr: 3, inaccessible: 4, mkdir: 5, mkfile: 6, symlink: 7, move: 8, proc: 9,
} as const;
/** MOUNT_OPTIONAL: a missing path or source is skipped; MOUNT_RECURSIVE: a bind with the mounts below. */
export const MOUNT_OPTIONAL = 1;
export const MOUNT_RECURSIVE = 2;
/** The namespaces a spawn may join, in the order of spawn_request.join_ns. */
export const JOINABLE_NAMESPACES = ["mnt", "net", "ipc", "uts"] as const;
export type JoinableNamespace = (typeof JOINABLE_NAMESPACES)[number];

/** Mount attribute bits, the same in MOUNT_ATTR_* (mount_setattr) and MS_* (mount). */
export const ATTR = { rdonly: 1, nosuid: 2, nodev: 4, noexec: 8 } as const;
