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
// rlimits, nice, ioprio, CPU affinity, oom_score_adj, umask, the private mount
// namespace (read-only paths, then inaccessible paths, then the private /tmp), the
// capability bounding set, ambient capabilities, setgroups, setgid, setuid (with
// keep-caps when ambient capabilities must survive it), chdir, no_new_privs, pid env
// vars, signal mask emptied, execve.
//
// private_tmp differs from systemd's PrivateTmp=: every process gets a fresh tmpfs on
// /tmp and /var/tmp (a missing /var/tmp is skipped), where systemd bind-mounts one
// directory per unit that all of the unit's processes share until it stops. So files an
// exec_start_pre leaves in /tmp are not seen by exec_start, and the tmpfs (its size is
// tmpfs's default, half of RAM) is freed when the last process using it exits.

import { posix } from "node:path";
import { CAPABILITY_NAMES, E, IOPRIO, RLIMIT } from "../../ffi/constants.ts";
import { devNull } from "../../ffi/fd.ts";
import { describeErrno, libc, SysError } from "../../ffi/libc.ts";
import { spawnNative, type NativeMount, type NativeSpawn, type NativeTerminal } from "../../ffi/spawn.ts";
import { TTY_FD } from "../../ffi/spawn-layout.ts";

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
  /** "CAP_*" names kept in the capability bounding set; every other one is dropped. Unset: unchanged. */
  capabilityBoundingSet?: string[];
  /**
   * "CAP_*" names raised in the ambient set, so that the program has them after execve
   * even when it runs as another user than root. Those not in the bounding set are left
   * out, as systemd does.
   */
  ambientCapabilities?: string[];
  /**
   * A private mount namespace: these paths, and every mount below them, read-only;
   * inaccessiblePaths hidden (an empty mode-000 tmpfs over a directory, /dev/null on a
   * nodev mount over anything else: opening it fails with EACCES); privateTmp: a fresh
   * tmpfs on /tmp and /var/tmp. A leading "-" on a path: skip it if it does not exist.
   */
  readOnlyPaths?: string[];
  inaccessiblePaths?: string[];
  privateTmp?: boolean;
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

/**
 * The mount namespace's steps: read-only paths first (parents before children), then
 * inaccessible paths (hiding wins over read-only), then the private /tmp and /var/tmp
 * (writable inside a read-only "/").
 */
function mountSteps(req: SpawnRequest): NativeMount[] | string {
  const steps: NativeMount[] = [];
  const problem = addPathSteps(steps, "readOnly", req.readOnlyPaths, "read_only_paths")
    ?? addPathSteps(steps, "inaccessible", req.inaccessiblePaths, "inaccessible_paths");
  if (problem) return problem;
  if (req.privateTmp) steps.push({ kind: "privateTmp", path: "/tmp", optional: false }, { kind: "privateTmp", path: "/var/tmp", optional: true });
  return steps;
}

/** Appends one kind of path steps to steps, parents first; or says what is wrong with a path. */
function addPathSteps(steps: NativeMount[], kind: NativeMount["kind"], given: string[] | undefined, what: string): string | null {
  if (!given?.length) return null;
  const paths: NativeMount[] = [];
  for (const text of given) {
    const optional = text.startsWith("-");
    const raw = optional ? text.slice(1) : text;
    if (!raw.startsWith("/")) return `${what}: not an absolute path: "${text}"`;
    const path = posix.normalize(raw).replace(/(.)\/+$/, "$1"); // "/a/b/../c/" -> "/a/c"; "/" stays
    paths.push({ kind, path, optional });
  }
  const depth = (mount: NativeMount) => mount.path.split("/").length;
  steps.push(...paths.sort((a, b) => depth(a) - depth(b) || (a.path < b.path ? -1 : 1)));
  return null;
}

type NativeContext = Pick<NativeSpawn, "cpus" | "ioprio" | "boundingKeep" | "ambient" | "mounts" | "cgroupFd">;

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
  return { cpus, ioprio, boundingKeep, ambient: ambient?.length ? ambient : undefined, mounts, cgroupFd: fd };
}

function validate(req: SpawnRequest): string | null {
  if (!req.path.startsWith("/")) return `program path must be absolute: "${req.path}"`;
  if (req.argv.length === 0) return "argv must not be empty";
  const strings = [req.path, ...req.argv, ...Object.entries(req.env).flat(), req.cwd ?? ""];
  for (const paths of [req.readOnlyPaths, req.inaccessiblePaths]) if (paths) strings.push(...paths);
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
    noNewPrivileges: req.noNewPrivileges ?? false,
    cpus: context.cpus,
    ioprio: context.ioprio,
    boundingKeep: context.boundingKeep,
    ambient: context.ambient,
    mounts: context.mounts,
    cgroupFd: context.cgroupFd,
    cgroupJoin: req.cgroupJoin ?? false,
    tty: req.tty,
  };
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
  const path = result.stage === "execve" ? req.path
    : result.stage === "chdir" ? req.cwd
    : result.stage === "tty" ? req.tty?.path
    : result.mountIndex !== undefined ? nativeRequest.mounts![result.mountIndex]!.path
    : undefined;
  return {
    ok: false,
    errno: result.errno,
    stage: result.stage,
    message: `${result.stage}${path === undefined ? "" : ` ${path}`}: ${describeErrno(result.errno)}${failureDetail(req, result)}`,
    ...(path === undefined ? {} : { path }),
  };
}
