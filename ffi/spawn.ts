// The JS half of hearth_spawn (ffi/native.c): lays out struct spawn_request and the
// strings and arrays it points to, calls it, and reads back the child's error report.
// Everything here is numbers and bytes; names (rlimits, users, capabilities) are
// resolved by src/exec/spawner.ts. The field, flag and stage tables are in
// ffi/spawn-layout.ts.
//
// The whole request is ONE block of memory: the struct, then the pointer arrays,
// rlimit triples, CPU mask and mount steps (8-byte cells), then the fd and group arrays
// (4-byte cells), then the strings. One allocation and one ptr() per spawn, no BigInt:
// 64-bit cells are written as two 32-bit halves (little-endian on both architectures).

import { ptr } from "bun:ffi";
import { native } from "./native.ts";
import {
  FLAG, JOINABLE_NAMESPACES, MOUNT_KIND, MOUNT_OP_SIZE, MOUNT_OPTIONAL, MOUNT_RECURSIVE, SLOT, SPAWN_REQUEST_SLOTS, SPAWN_STAGES,
  type JoinableNamespace, type SpawnStage,
} from "./spawn-layout.ts";

export { SPAWN_STAGES, type SpawnStage };

/** One step of the child's private mount namespace (see ffi/native.c). */
export interface NativeMount {
  kind: keyof typeof MOUNT_KIND;
  path: string;
  /** bind, move: what is mounted; symlink: its target. */
  source?: string;
  /** tmpfs, proc: the mount options ("mode=0755"). */
  data?: string;
  /** bind: with the mounts below source. */
  recursive?: boolean;
  /** ATTR bits (ffi/spawn-layout.ts): tmpfs, proc: mount flags; setattr: set on the mount. */
  set?: number;
  /** setattr: ATTR bits cleared on the mount. */
  clear?: number;
  /** A missing path or source is skipped instead of failing the spawn. */
  optional: boolean;
}

/** What hearth_spawn does in the child, in native terms. */
export interface NativeSpawn {
  path: string;
  argv: string[];
  env: [name: string, value: string][];
  /** Names of env entries whose value is the child's own pid, written in the child. */
  pidEnv: string[];
  /** fdSources[i] becomes fd i in the child; every fd >= fdSources.length is closed. */
  fdSources: number[];
  cwd?: string;
  setsid: boolean;
  uid?: number;
  gid?: number;
  groups?: number[];
  umask?: number;
  nice?: number;
  oomScoreAdj?: number;
  /** [resource number, soft, hard]; Infinity is RLIM_INFINITY. */
  rlimits: [number, number, number][];
  noNewPrivileges: boolean;
  /**
   * An fd on a cgroup's directory (O_DIRECTORY): the child starts there (clone3's
   * CLONE_INTO_CGROUP), or, where the kernel cannot, moves itself there first.
   */
  cgroupFd?: number;
  /**
   * Into the cgroup through cgroup.procs even where clone3 could start the child there
   * (a cgroup emptied by cgroup.kill: see src/exec/cgroup.ts; tests).
   */
  cgroupJoin?: boolean;
  /** CPU numbers for sched_setaffinity; undefined or empty: inherited. */
  cpus?: number[];
  /** The ioprio_set value (class << 13 | level). */
  ioprio?: number;
  /** sched_setscheduler: a SCHED_* policy (| SCHED_RESET_ON_FORK) and its priority. */
  scheduling?: { policy: number; priority: number };
  /** Capability numbers kept in the bounding set; every other one is dropped. */
  boundingKeep?: number[];
  /** Capability numbers raised in the ambient set. */
  ambient?: number[];
  /** Steps of a private mount namespace, in order; none: no namespace. */
  mounts?: NativeMount[];
  /** PR_SET_SECUREBITS before the change of user (ffi/constants.ts SECUREBITS). */
  secureBits?: number;
  /** A mount namespace of its own (no propagation to the host), where `mounts` are made. */
  mountNamespace?: boolean;
  /** A user namespace of its own, made after the mounts and the groups (PrivateUsers=). */
  privateUsers?: boolean;
  /** fds on namespaces (/proc/PID/ns/TYPE) joined with setns: mnt instead of carrying out mounts, the others instead of unsharing them. */
  joinNamespaces?: Partial<Record<JoinableNamespace, number>>;
  /** CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS: namespaces unshared (a new network's loopback up). */
  unshareFlags?: number;
  /** seccomp BPF programs, each an 8-byte instruction count then struct sock_filter[count] (8 bytes each), loaded last before execve. */
  seccomp?: Uint8Array;
  /** Read-only paths without mount_setattr, as on Linux < 5.12 (for tests). */
  legacyRemount?: boolean;
  /** SIGPIPE ignored (SIG_IGN) rather than reset to its default like every other signal. */
  ignoreSigpipe?: boolean;
  /** A terminal the child opens after setsid; fdSources entries equal to TTY_FD become it. */
  tty?: NativeTerminal;
}

/** What the child does with the terminal at `path` (see open_terminal in ffi/native.c). */
export interface NativeTerminal {
  path: string;
  reset: boolean;
  vhangup: boolean;
  vtDisallocate: boolean;
  /** Made the controlling terminal: "take" if no other session has it, "force" takes it anyway. */
  controlling: "no" | "take" | "force";
}

export type NativeSpawnResult =
  | { pid: number }
  | { errno: number; stage: SpawnStage; /** the failing step of mounts, for mount stages */ mountIndex?: number };

/** Room after "NAME=" for the decimal pid the child writes (at most 19 digits) and its NUL. */
const PID_DIGITS = 21;

const TWO_TO_32 = 2 ** 32;

/** One spawn request in one ArrayBuffer; offsets in bytes from its start. */
class RequestBlock {
  readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  private readonly ints: Int32Array;
  private readonly text: Buffer;
  readonly base: number;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.words = new Uint32Array(this.bytes.buffer);
    this.ints = new Int32Array(this.bytes.buffer);
    this.text = Buffer.from(this.bytes.buffer);
    this.base = ptr(this.bytes);
  }

  /** A 64-bit cell: a non-negative integer below 2^53, a small negative one, or Infinity (all ones). */
  put64(offset: number, value: number): void {
    const i = offset >> 2;
    if (value === Infinity) {
      this.words[i] = this.words[i + 1] = 0xffff_ffff;
    } else {
      this.words[i] = value >>> 0;
      this.words[i + 1] = value < 0 ? 0xffff_ffff : Math.floor(value / TWO_TO_32);
    }
  }

  get64(offset: number): number {
    return this.words[offset >> 2]! + this.words[(offset >> 2) + 1]! * TWO_TO_32;
  }

  put32(offset: number, value: number): void {
    this.ints[offset >> 2] = value;
  }

  /** Sets bit n of the bit array at offset (64-bit cells, little-endian: bit n is in 32-bit word n >> 5). */
  setBit(offset: number, n: number): void {
    this.words[(offset >> 2) + (n >> 5)]! |= 1 << (n & 31);
  }

  /** Writes text NUL-terminated (the block is zero-filled); returns its address. */
  putString(offset: number, text: string): number {
    this.text.write(text, offset, "utf8");
    return this.base + offset;
  }
}

/** Hands out offsets in a block: 8-byte cells first, then 4-byte ones, then strings. */
class Layout {
  size = 0;
  take(bytes: number): number {
    const offset = this.size;
    this.size += bytes;
    return offset;
  }
  align(to: number): void {
    this.size = Math.ceil(this.size / to) * to;
  }
}

function optionalFlags(req: NativeSpawn): number {
  let flags = req.setsid ? FLAG.setsid : 0;
  if (req.uid !== undefined) flags |= FLAG.uid;
  if (req.gid !== undefined) flags |= FLAG.gid;
  if (req.groups !== undefined) flags |= FLAG.groups;
  if (req.umask !== undefined) flags |= FLAG.umask;
  if (req.nice !== undefined) flags |= FLAG.nice;
  if (req.oomScoreAdj !== undefined) flags |= FLAG.oomScoreAdj;
  if (req.noNewPrivileges) flags |= FLAG.noNewPrivileges;
  if (req.ioprio !== undefined) flags |= FLAG.ioprio;
  if (req.scheduling !== undefined) flags |= FLAG.sched;
  if (req.boundingKeep !== undefined) flags |= FLAG.capabilityBoundingSet;
  if (req.ambient !== undefined) flags |= FLAG.ambientCapabilities;
  if (req.legacyRemount) flags |= FLAG.legacyRemount;
  if (req.ignoreSigpipe) flags |= FLAG.ignoreSigpipe;
  if (req.cgroupJoin) flags |= FLAG.cgroupJoin;
  if (req.privateUsers) flags |= FLAG.privateUsers;
  if (req.mountNamespace) flags |= FLAG.mountNamespace;
  if (req.secureBits !== undefined) flags |= FLAG.secureBits;
  const tty = req.tty;
  if (tty?.reset) flags |= FLAG.ttyReset;
  if (tty?.vhangup) flags |= FLAG.ttyVhangup;
  if (tty?.vtDisallocate) flags |= FLAG.ttyVtDisallocate;
  if (tty && tty.controlling !== "no") flags |= FLAG.ttyControlling;
  if (tty?.controlling === "force") flags |= FLAG.ttyForce;
  return flags;
}

/** The strings of a request, as they go into the block. */
function requestStrings(req: NativeSpawn): { env: string[]; pidValueAt: number[] } {
  const pidNames = new Set(req.pidEnv);
  const env: string[] = [];
  const pidValueAt: number[] = []; // per env entry: byte offset of the value, or -1
  for (const [name, value] of req.env) {
    const isPid = pidNames.has(name);
    env.push(isPid ? `${name}=${"\0".repeat(PID_DIGITS)}` : `${name}=${value}`);
    pidValueAt.push(isPid ? Buffer.byteLength(name, "utf8") + 1 : -1);
  }
  return { env, pidValueAt };
}

/**
 * The execution context's arrays: mount steps, CPU mask, capability masks. A function
 * of its own, as is readFailure: grown by these lines, spawnNative itself ran ~4 µs
 * slower per spawn (JavaScriptCore optimises a smaller function better), measured
 * against the previous version, interleaved as in bench/spawn.ts.
 */
function putContextArrays(
  block: RequestBlock, req: NativeSpawn, at: { header: number; cpuMaskAt: number; mountsAt: number; mountStrings: number[] },
): void {
  let next = 0;
  const address = (text: string | undefined) => (text === undefined ? 0 : at.mountStrings[next++]!);
  req.mounts?.forEach((mount, i) => {
    const op = at.mountsAt + MOUNT_OP_SIZE * i;
    block.put64(op, MOUNT_KIND[mount.kind]);
    block.put64(op + 8, (mount.optional ? MOUNT_OPTIONAL : 0) | (mount.recursive ? MOUNT_RECURSIVE : 0));
    block.put64(op + 16, address(mount.path));
    block.put64(op + 24, address(mount.source));
    block.put64(op + 32, address(mount.data));
    block.put64(op + 40, mount.set ?? 0);
    block.put64(op + 48, mount.clear ?? 0);
  });
  for (const cpu of req.cpus ?? []) block.setBit(at.cpuMaskAt, cpu);
  for (const cap of req.boundingKeep ?? []) block.setBit(at.header + 8 * SLOT.boundingKeep, cap);
  for (const cap of req.ambient ?? []) block.setBit(at.header + 8 * SLOT.ambient, cap);
}

/**
 * Starts a child as described; returns once it has called execve (its pid), or once it
 * failed (errno and the step that failed; the child is already reaped).
 */
export function spawnNative(req: NativeSpawn): NativeSpawnResult {
  const { env, pidValueAt } = requestStrings(req);
  const pidSlotCount = pidValueAt.filter((at) => at >= 0).length;
  const groups = req.groups ?? [];
  const mounts = req.mounts ?? [];
  const cpuCells = req.cpus?.length ? Math.floor(Math.max(...req.cpus) / 64) + 1 : 0;
  const strings = [req.path, ...req.argv, ...env, ...(req.cwd === undefined ? [] : [req.cwd])];
  const ttyPathAt = req.tty === undefined ? -1 : strings.push(req.tty.path) - 1;
  const mountStringsFrom = strings.length;
  for (const mount of mounts) {
    for (const text of [mount.path, mount.source, mount.data]) if (text !== undefined) strings.push(text);
  }
  const seccomp = req.seccomp ?? new Uint8Array(0);

  const layout = new Layout();
  const header = layout.take(8 * SPAWN_REQUEST_SLOTS);
  const argvAt = layout.take(8 * (req.argv.length + 1));
  const envpAt = layout.take(8 * (env.length + 1));
  const pidSlotsAt = layout.take(8 * (pidSlotCount + 1));
  const rlimitsAt = layout.take(8 * 3 * req.rlimits.length);
  const cpuMaskAt = layout.take(8 * cpuCells);
  const mountsAt = layout.take(MOUNT_OP_SIZE * mounts.length);
  const seccompAt = layout.take(seccomp.length);
  const joinNsAt = layout.take(8 * JOINABLE_NAMESPACES.length);
  const fdsAt = layout.take(4 * req.fdSources.length);
  const groupsAt = layout.take(4 * groups.length);
  const stringAt = strings.map((s) => layout.take(Buffer.byteLength(s, "utf8") + 1));
  layout.align(8);

  const block = new RequestBlock(layout.size);
  const addresses = strings.map((s, i) => block.putString(stringAt[i]!, s));
  let next = 0;
  const pathAddress = addresses[next++]!;
  req.argv.forEach((_, i) => block.put64(argvAt + 8 * i, addresses[next++]!));
  let slot = 0;
  env.forEach((_, i) => {
    const address = addresses[next++]!;
    block.put64(envpAt + 8 * i, address);
    if (pidValueAt[i]! >= 0) block.put64(pidSlotsAt + 8 * slot++, address + pidValueAt[i]!);
  });
  const cwdAddress = req.cwd === undefined ? 0 : addresses[next++]!;
  req.rlimits.forEach(([resource, soft, hard], i) => {
    block.put64(rlimitsAt + 24 * i, resource);
    block.put64(rlimitsAt + 24 * i + 8, soft);
    block.put64(rlimitsAt + 24 * i + 16, hard);
  });
  req.fdSources.forEach((fd, i) => block.put32(fdsAt + 4 * i, fd));
  groups.forEach((gid, i) => block.put32(groupsAt + 4 * i, gid));

  const field = (name: keyof typeof SLOT, value: number) => block.put64(header + 8 * SLOT[name], value);
  field("path", pathAddress);
  field("argv", block.base + argvAt);
  field("envp", block.base + envpAt);
  field("pidSlots", block.base + pidSlotsAt);
  field("fdSources", block.base + fdsAt);
  field("fdCount", req.fdSources.length);
  field("cwd", cwdAddress);
  field("flags", optionalFlags(req));
  field("uid", req.uid ?? 0);
  field("gid", req.gid ?? 0);
  field("groups", block.base + groupsAt);
  field("groupCount", groups.length);
  field("umask", req.umask ?? 0);
  field("nice", req.nice ?? 0);
  field("oomScoreAdj", req.oomScoreAdj ?? 0);
  field("rlimits", block.base + rlimitsAt);
  field("rlimitCount", req.rlimits.length);
  field("cgroupFd", req.cgroupFd ?? -1);
  field("cpuMask", block.base + cpuMaskAt);
  field("cpuMaskBytes", 8 * cpuCells);
  field("ioprio", req.ioprio ?? 0);
  field("schedPolicy", req.scheduling?.policy ?? 0);
  field("schedPriority", req.scheduling?.priority ?? 0);
  field("secureBits", req.secureBits ?? 0);
  field("mounts", block.base + mountsAt);
  field("mountCount", mounts.length);
  field("ttyPath", ttyPathAt < 0 ? 0 : addresses[ttyPathAt]!);
  field("unshareFlags", req.unshareFlags ?? 0);
  JOINABLE_NAMESPACES.forEach((type, i) => block.put64(joinNsAt + 8 * i, req.joinNamespaces?.[type] ?? -1));
  field("joinNs", block.base + joinNsAt);
  block.bytes.set(seccomp, seccompAt);
  field("seccomp", block.base + seccompAt);
  field("seccompLength", seccomp.length);
  putContextArrays(block, req, { header, cpuMaskAt, mountsAt, mountStrings: addresses.slice(mountStringsFrom) });

  const pid = native().hearth_spawn(block.bytes);
  return pid > 0 ? { pid } : readFailure(block, header);
}

function readFailure(block: RequestBlock, header: number): NativeSpawnResult {
  const stage = SPAWN_STAGES[block.get64(header + 8 * SLOT.failedStage)] ?? "clone";
  const errno = block.get64(header + 8 * SLOT.failedErrno);
  return stage === "mounts" ? { errno, stage, mountIndex: block.get64(header + 8 * SLOT.failedIndex) } : { errno, stage };
}

/**
 * How children get into their cgroup in this process: "clone3" (started there), "join"
 * (the kernel refused clone3's CLONE_INTO_CGROUP, so each writes cgroup.procs), or
 * "unknown" until the first spawn into a cgroup decides it.
 */
export function cgroupSpawnMethod(): "unknown" | "clone3" | "join" {
  return (["unknown", "clone3", "join"] as const)[Number(native().hearth_cgroup_spawn_method())] ?? "unknown";
}
