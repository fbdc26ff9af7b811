// The one way the manager starts a process. Bun.spawn is not used: it sets the
// environment before fork (so a child cannot get its own pid in LISTEN_PID), it cannot
// set rlimits, umask, nice, oom_score_adj or no_new_privs before exec, and it reaps its
// children itself, while PID 1 must reap every child through one reaper
// (src/exec/reaper.ts).
//
// spawn() is synchronous and returns once the child has called execve: an exec failure
// is reported here (ok: false), not later as an exit status, and the failed child is
// already reaped. The child's steps, in order (see ffi/native.c): started in the unit's
// cgroup (or, without clone3, moved there first), signal dispositions reset (SIGPIPE
// ignored if asked), setsid, fds placed,
// rlimits, nice, ioprio, CPU affinity, oom_score_adj, umask, the network, IPC and UTS
// namespaces, the private mount namespace (the steps src/exec/mount-plan.ts plans), the
// capability bounding set, ambient capabilities, setgroups, setgid, setuid (with
// keep-caps when ambient capabilities must survive it), chdir, no_new_privs, pid env
// vars, the seccomp filter, signal mask emptied, execve.

import { readFileSync } from "node:fs";
import { CAPABILITY_NAMES, CLONE_NS, E, IOPRIO, RLIMIT } from "../../ffi/constants.ts";
import { devNull } from "../../ffi/fd.ts";
import { describeErrno, libc, SysError } from "../../ffi/libc.ts";
import { spawnNative, type NativeSpawn, type NativeTerminal } from "../../ffi/spawn.ts";
import { TTY_FD, type JoinableNamespace } from "../../ffi/spawn-layout.ts";
import { parseMountinfo } from "../boot/mountinfo.ts";
import type { PlannedMount, Sandbox } from "./mount-plan.ts";
import { wantsSeccomp, type SeccompOptions } from "./seccomp-options.ts";

// The mount planner and the seccomp filters (with the system call tables) are loaded by the
// first spawn that needs them: each a chunk of its own in the executable, read synchronously.
const mountPlan = (): typeof import("./mount-plan.ts") => require("./mount-plan.ts");
const seccomp = (): typeof import("./seccomp.ts") => require("./seccomp.ts");

export type IoSchedulingClass = "realtime" | "best-effort" | "idle" | "none";

export interface SpawnRequest {
  /** Absolute path of the program. */
  path: string;
  argv: string[];
  env: Record<string, string>;
  /** Names of env vars set to the child's own pid before exec (LISTEN_PID, WATCHDOG_PID). */
  pidEnv?: string[];
  /** Placed at fd 3, 4, ... in the child; every other fd >= 3 + fds.length is closed. */
  fds?: number[];
  /** fds for 0, 1, 2; undefined means /dev/null. */
  stdin?: number;
  stdout?: number;
  stderr?: number;
  cwd?: string;
  /** Applied as setgroups, setgid, setuid, in that order. */
  uid?: number;
  gid?: number;
  /**
   * Supplementary groups. When uid is set and groups is not, and the manager runs as
   * root, the supplementary groups are cleared (the manager's own must not leak).
   */
  groups?: number[];
  umask?: number;
  /** resource: an RLIMIT_ name in lower case without the prefix ("nofile", "core"). */
  rlimits?: { resource: string; soft: number; hard: number }[];
  nice?: number;
  oomScoreAdj?: number;
  noNewPrivileges?: boolean;
  /** setsid() in the child; default true. */
  newSession?: boolean;
  /**
   * SIGPIPE ignored in the child (systemd's IgnoreSIGPIPE=), so that a write to a closed
   * pipe fails with EPIPE; default false: every signal at its default action.
   */
  ignoreSigpipe?: boolean;
  /** CPUs the process may run on (sched_setaffinity), by number; unset or empty: inherited. */
  cpuAffinity?: number[];
  /**
   * I/O scheduling (ioprio_set): a class and its level, 0 (highest) to 7. "none" means
   * best-effort at level 4, as in systemd; realtime needs CAP_SYS_ADMIN or CAP_SYS_NICE.
   */
  ioScheduling?: { class: IoSchedulingClass; priority: number };
  /** sched_setscheduler in native terms (./cpu-scheduling.ts); unset: inherited. */
  cpuScheduling?: { policy: number; priority: number };
  /** "CAP_*" names kept in the capability bounding set; every other one is dropped. Unset: unchanged. */
  capabilityBoundingSet?: string[];
  /**
   * "CAP_*" names raised in the ambient set, so that the program has them after execve
   * even when it runs as another user than root. Those not in the bounding set are left
   * out, as systemd does.
   */
  ambientCapabilities?: string[];
  /**
   * The mount directives (protect_system, read_only_paths, private_tmp...): a private
   * mount namespace set up as src/exec/mount-plan.ts plans it. Nothing asked: none.
   */
  sandbox?: Sandbox;
  /**
   * fds on the namespaces an earlier process of the unit got for the same sandbox
   * (/proc/PID/ns/TYPE): joined with setns instead of making new ones, so that the unit's
   * processes share them as in systemd, and since a mount namespace costs about a spawn
   * more to make (the kernel copies the mount table, and tears it down at exit).
   */
  joinNamespaces?: Partial<Record<JoinableNamespace, number>>;
  /**
   * The seccomp directives (src/exec/seccomp.ts), loaded last before execve. Where the
   * process will not have CAP_SYS_ADMIN (another user than root, or a manager that is not
   * root), no_new_privs is set too, as the kernel asks and systemd does.
   */
  seccomp?: SeccompOptions;
  /** Namespaces of the unit's own: a network with only loopback (up), System V IPC, a hostname. */
  privateNetwork?: boolean;
  privateIpc?: boolean;
  privateUts?: boolean;
  /**
   * A user namespace of its own for this process (systemd's PrivateUsers=): root and its
   * user and group map to themselves, every other id shows as nobody; it keeps no
   * capability outside the namespace. Made after the mounts, so they are the manager's.
   */
  privateUsers?: boolean;
  /** prctl(PR_SET_SECUREBITS) before the change of user (SECUREBITS in ffi/constants.ts). */
  secureBits?: number;
  /**
   * An fd on the directory of the unit's cgroup (CgroupTree.ensureUnit in
   * src/exec/cgroup.ts): the child starts there (clone3's CLONE_INTO_CGROUP) or, on a
   * kernel without it (< 5.7), moves itself there before anything else; so it and all it
   * forks are tracked. The caller keeps and closes it.
   */
  cgroupFd?: number;
  /** The child enters cgroupFd by writing cgroup.procs, not started there (CgroupTree.ensureUnit's join). */
  cgroupJoin?: boolean;
  /**
   * A terminal the child opens itself after setsid (tty_path): reset, hung up, its VT
   * disallocated as asked, made the controlling terminal; stdin, stdout or stderr equal
   * to TTY_FD are it. It never blocks: a terminal another session holds fails the
   * spawn at stage "tty" unless controlling is "force".
   */
  tty?: NativeTerminal;
}

export { TTY_FD };

/** On failure: the step that failed (a stage of ffi/spawn-layout.ts, or "request"/"devnull"), and the path it was working on, if any. */
export type SpawnResult =
  | { ok: true; pid: number }
  | { ok: false; errno: number; stage: string; message: string; path?: string };

/** A request hearth refuses before any process exists (stage "request"). */
function refuse(message: string): SpawnResult {
  return { ok: false, errno: E.EINVAL, stage: "request", message };
}

/** Infinity means RLIM_INFINITY; so does any value past 2^53 (no real limit is that large). */
function rlimitValue(value: number): number {
  return value > Number.MAX_SAFE_INTEGER ? Infinity : Math.trunc(value);
}

function nativeRlimits(rlimits: SpawnRequest["rlimits"]): NativeSpawn["rlimits"] | string {
  const result: NativeSpawn["rlimits"] = [];
  for (const { resource, soft, hard } of rlimits ?? []) {
    const number = RLIMIT[resource.toLowerCase().replace(/^rlimit_/, "")];
    if (number === undefined) return `unknown resource limit "${resource}"`;
    if (!(soft >= 0 && hard >= 0)) return `resource limit "${resource}" must not be negative`;
    if (soft > hard) return `resource limit "${resource}": soft limit above hard limit`;
    result.push([number, rlimitValue(soft), rlimitValue(hard)]);
  }
  return result;
}

/** Which supplementary groups to set, if any (see SpawnRequest.groups). */
function supplementaryGroups(req: SpawnRequest): number[] | undefined {
  if (req.groups !== undefined) return req.groups;
  if (req.uid !== undefined && libc.geteuid() === 0) return [];
  return undefined;
}

/** The largest CPU number the kernel can have (CONFIG_NR_CPUS is at most 8192). */
const MAX_CPU = 8191;

/** Capability names to numbers (their bits); a string for the first unknown one. */
function capabilityNumbers(names: string[] | undefined, what: string): number[] | undefined | string {
  if (names === undefined) return undefined;
  const numbers: number[] = [];
  for (const name of names) {
    const number = (CAPABILITY_NAMES as readonly string[]).indexOf(name.toUpperCase().replace(/^(CAP_)?/, "CAP_"));
    if (number < 0) return `${what}: unknown capability "${name}"`;
    numbers.push(number);
  }
  return numbers;
}

const IOPRIO_CLASS: Record<IoSchedulingClass, number> = {
  realtime: IOPRIO.CLASS_RT, "best-effort": IOPRIO.CLASS_BE, idle: IOPRIO.CLASS_IDLE, none: IOPRIO.CLASS_NONE,
};

/** The ioprio_set value; systemd's ioprio_normalize turns "none" into best-effort level 4. */
function ioprioValue(scheduling: NonNullable<SpawnRequest["ioScheduling"]>): number | string {
  const { class: name, priority } = scheduling;
  if (!(name in IOPRIO_CLASS)) return `unknown I/O scheduling class "${name}"`;
  if (!(Number.isInteger(priority) && priority >= 0 && priority <= 7)) return "I/O scheduling priority must be 0 to 7";
  if (name === "none") return (IOPRIO.CLASS_BE << IOPRIO.CLASS_SHIFT) | 4;
  return (IOPRIO_CLASS[name] << IOPRIO.CLASS_SHIFT) | priority;
}

/** /proc/self/mountinfo: the mounts a child's new namespace starts as a copy of. */
function hostMountinfo(): string {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return "";
  }
}

/**
 * Plans and filters by what they are made from: a unit's processes ask for the same ones
 * again and again, and making them costs more than the rest of the request (~1 ms for
 * chrony's mounts, ~0.3 ms for its filters, on the loaded 2-core dev box). Emptied when full.
 */
class Memo<T> {
  private readonly entries = new Map<string, T>();
  get(key: string, make: () => T): T {
    const known = this.entries.get(key);
    if (known !== undefined) return known;
    const made = make();
    if (this.entries.size >= 64) this.entries.clear();
    this.entries.set(key, made);
    return made;
  }
}
const mountPlans = new Memo<PlannedMount[] | string>();
const filters = new Memo<Uint8Array | string>();

/** The mount namespace's steps, or what is wrong with a path. */
function mountSteps(req: SpawnRequest): PlannedMount[] | string {
  const sandbox = req.sandbox;
  if (!sandbox || req.joinNamespaces?.mnt !== undefined) return [];
  const { needsMountPoints, planMounts } = mountPlan();
  const mountinfo = needsMountPoints(sandbox) ? hostMountinfo() : "";
  return mountPlans.get(`${JSON.stringify(sandbox)}\0${mountinfo}`, () =>
    planMounts(sandbox, mountinfo === "" ? [] : parseMountinfo(mountinfo).map((m) => m.mountPoint)));
}

type NativeContext = Pick<NativeSpawn, "cpus" | "ioprio" | "boundingKeep" | "ambient" | "cgroupFd" | "seccomp" | "unshareFlags" | "joinNamespaces"> & {
  mounts: PlannedMount[];
};

/** The namespaces to make: those asked for and not joined. */
function unshareFlags(req: SpawnRequest): number | undefined {
  const make = (asked: boolean | undefined, type: JoinableNamespace, flag: number) => (asked && req.joinNamespaces?.[type] === undefined ? flag : 0);
  const flags = make(req.privateNetwork, "net", CLONE_NS.NEWNET) | make(req.privateIpc, "ipc", CLONE_NS.NEWIPC)
    | make(req.privateUts, "uts", CLONE_NS.NEWUTS);
  return flags || undefined;
}

/** The filters' bytes, or none, or what is wrong with a directive. */
function seccompBytes(req: SpawnRequest): Uint8Array | undefined | string {
  const options = req.seccomp;
  if (!options || !wantsSeccomp(options)) return undefined;
  return filters.get(JSON.stringify(options), () => seccomp().buildSeccomp(options));
}

/** The execution-context fields in native terms, or what is wrong with them. */
function nativeContext(req: SpawnRequest): NativeContext | string {
  const cpus = req.cpuAffinity;
  if (cpus?.some((cpu) => !(Number.isInteger(cpu) && cpu >= 0 && cpu <= MAX_CPU))) return `CPU numbers must be integers 0 to ${MAX_CPU}`;
  const ioprio = req.ioScheduling === undefined ? undefined : ioprioValue(req.ioScheduling);
  if (typeof ioprio === "string") return ioprio;
  const boundingKeep = capabilityNumbers(req.capabilityBoundingSet, "capability_bounding_set");
  if (typeof boundingKeep === "string") return boundingKeep;
  const ambient = capabilityNumbers(req.ambientCapabilities, "ambient_capabilities");
  if (typeof ambient === "string") return ambient;
  const mounts = mountSteps(req);
  if (typeof mounts === "string") return mounts;
  const fd = req.cgroupFd;
  if (fd !== undefined && !(Number.isInteger(fd) && fd >= 0)) return "cgroupFd must be an fd";
  const join = req.joinNamespaces;
  if (Object.values(join ?? {}).some((ns) => !(Number.isInteger(ns) && ns >= 0))) return "joinNamespaces must be fds";
  const seccomp = seccompBytes(req);
  if (typeof seccomp === "string") return seccomp;
  return {
    cpus, ioprio, boundingKeep, ambient: ambient?.length ? ambient : undefined, mounts, cgroupFd: fd, seccomp,
    unshareFlags: unshareFlags(req), joinNamespaces: join,
  };
}

function validate(req: SpawnRequest): string | null {
  if (!req.path.startsWith("/")) return `program path must be absolute: "${req.path}"`;
  if (req.argv.length === 0) return "argv must not be empty";
  const strings = [req.path, ...req.argv, ...Object.entries(req.env).flat(), req.cwd ?? ""];
  for (const paths of Object.values(req.sandbox ?? {})) if (Array.isArray(paths)) strings.push(...paths);
  if (req.tty) strings.push(req.tty.path);
  if (req.tty && !req.tty.path.startsWith("/")) return `tty path must be absolute: "${req.tty.path}"`;
  if (strings.some((s) => s.includes("\0"))) return "strings must not contain NUL bytes";
  if (Object.keys(req.env).some((name) => name === "" || name.includes("="))) {
    return "environment variable names must be non-empty and contain no '='";
  }
  const fds = [req.stdin, req.stdout, req.stderr, ...(req.fds ?? [])];
  if (fds.some((fd) => fd !== undefined && !(Number.isInteger(fd) && fd >= 0))) {
    const stdio = [req.stdin, req.stdout, req.stderr];
    const terminal = req.tty !== undefined && stdio.every((fd) => fd === undefined || fd === TTY_FD || fd >= 0) && (req.fds ?? []).every((fd) => Number.isInteger(fd) && fd >= 0);
    if (!terminal) return "fds must be integers >= 0 (or TTY_FD on stdio with a tty)";
  }
  return null;
}

/** What errno alone does not say. F_DUPFD fails with EINVAL past the open-file limit. */
function failureDetail(req: SpawnRequest, result: { stage: string; errno: number }): string {
  if (result.stage !== "fds" || result.errno !== E.EINVAL) return "";
  return ` (fd ${2 + (req.fds?.length ?? 0)} is not below the open-file limit, RLIMIT_NOFILE)`;
}

function toNative(req: SpawnRequest, rlimits: NativeSpawn["rlimits"], context: NativeContext): NativeSpawn {
  const pidEnv = req.pidEnv ?? [];
  const env = Object.entries(req.env);
  for (const name of pidEnv) if (!(name in req.env)) env.push([name, ""]);
  return {
    path: req.path,
    argv: req.argv,
    env,
    pidEnv,
    fdSources: [req.stdin ?? devNull(), req.stdout ?? devNull(), req.stderr ?? devNull(), ...(req.fds ?? [])],
    cwd: req.cwd,
    setsid: req.newSession ?? true,
    ignoreSigpipe: req.ignoreSigpipe ?? false,
    uid: req.uid,
    gid: req.gid,
    groups: supplementaryGroups(req),
    umask: req.umask,
    nice: req.nice,
    oomScoreAdj: req.oomScoreAdj,
    rlimits,
    noNewPrivileges: (req.noNewPrivileges ?? false) || (context.seccomp !== undefined && !keepsSysAdmin(req)),
    cpus: context.cpus,
    ioprio: context.ioprio,
    scheduling: req.cpuScheduling,
    boundingKeep: context.boundingKeep,
    ambient: context.ambient,
    mounts: context.mounts.length > 0 ? context.mounts : undefined,
    cgroupFd: context.cgroupFd,
    cgroupJoin: req.cgroupJoin ?? false,
    tty: req.tty,
    seccomp: context.seccomp,
    unshareFlags: context.unshareFlags,
    joinNamespaces: context.joinNamespaces,
    privateUsers: req.privateUsers,
    secureBits: req.secureBits,
    mountNamespace: req.sandbox !== undefined && req.joinNamespaces?.mnt === undefined,
  };
}

/** Whether the child still has CAP_SYS_ADMIN when it loads its filters: root stays root. */
function keepsSysAdmin(req: SpawnRequest): boolean {
  return libc.geteuid() === 0 && (req.uid === undefined || req.uid === 0);
}

/** Starts a process; see the top of this file. Never throws for a bad request or a failed step. */
export function spawn(req: SpawnRequest): SpawnResult {
  const problem = validate(req);
  if (problem) return refuse(problem);
  const rlimits = nativeRlimits(req.rlimits);
  if (typeof rlimits === "string") return refuse(rlimits);
  const context = nativeContext(req);
  if (typeof context === "string") return refuse(context);
  let nativeRequest: NativeSpawn;
  try {
    nativeRequest = toNative(req, rlimits, context);
  } catch (error) {
    if (!(error instanceof SysError)) throw error;
    return { ok: false, errno: error.errno, stage: "devnull", message: error.message };
  }
  const result = spawnNative(nativeRequest);
  if ("pid" in result) return { ok: true, pid: result.pid };
  const mount = result.mountIndex === undefined ? undefined : context.mounts[result.mountIndex];
  const path = result.stage === "execve" ? req.path
    : result.stage === "chdir" ? req.cwd
    : result.stage === "tty" ? req.tty?.path
    : mount?.path;
  const stage = mount?.key ?? result.stage; // a mount step is named after its directive
  return {
    ok: false,
    errno: result.errno,
    stage,
    message: `${stage}${path === undefined ? "" : ` ${path}`}: ${describeErrno(result.errno)}${failureDetail(req, result)}`,
    ...(path === undefined ? {} : { path }),
  };
}
