// The API file systems PID 1 mounts first, in this order (a parent before what is
// mounted inside it). Pure: which of them still need mounting is decided from a
// predicate the caller answers from the system.

export interface ApiMount {
  what: string;
  where: string;
  type: string;
  options: string;
  /** Made with this mode when missing (mount points inside other API file systems). */
  mkdirMode?: number;
  /** Tried when `options` is refused (an option older kernels do not know). */
  fallbackOptions?: string;
}

export const API_MOUNTS: readonly ApiMount[] = [
  { what: "proc", where: "/proc", type: "proc", options: "nosuid,nodev,noexec" },
  { what: "sysfs", where: "/sys", type: "sysfs", options: "nosuid,nodev,noexec" },
  { what: "devtmpfs", where: "/dev", type: "devtmpfs", options: "nosuid,mode=0755" },
  { what: "devpts", where: "/dev/pts", type: "devpts", options: "nosuid,noexec,gid=5,mode=0620,ptmxmode=0666", mkdirMode: 0o755 },
  { what: "tmpfs", where: "/dev/shm", type: "tmpfs", options: "nosuid,nodev,mode=1777", mkdirMode: 0o1777 },
  { what: "tmpfs", where: "/run", type: "tmpfs", options: "nosuid,nodev,mode=0755,size=20%" },
  { what: "tmpfs", where: "/tmp", type: "tmpfs", options: "nosuid,nodev,mode=1777,size=50%" },
  // favordynmods (Linux 6.0+) spares every spawn an RCU grace period when the child
  // joins its unit's cgroup (see src/exec/cgroup.ts); older kernels refuse it.
  {
    what: "cgroup2", where: "/sys/fs/cgroup", type: "cgroup2", options: "nosuid,nodev,noexec,nsdelegate,favordynmods",
    fallbackOptions: "nosuid,nodev,noexec,nsdelegate", mkdirMode: 0o755,
  },
];

/** The API mounts still to do, given which paths are mount points already. */
export function planApiMounts(isMountPoint: (path: string) => boolean): ApiMount[] {
  return API_MOUNTS.filter((m) => !isMountPoint(m.where));
}
