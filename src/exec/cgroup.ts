// Process tracking with cgroup v2: one cgroup per service unit, so that every process a
// service forks, however often and however detached, is found again, stopped, and
// matched back to its unit; and the resource limits memory_max, cpu_quota, tasks_max.
//
// The API (everything the manager needs; nothing here is asynchronous):
//
//   const tree = discoverCgroups("system" | "run");
//   if ("unavailable" in tree) -> log tree.unavailable once; fall back to process groups
//                                 (the spawner's setsid), as before.
//   const unit = tree.ensureUnit("web", { memoryMax, cpuQuota, tasksMax });
//       creates the unit's cgroup (again, if it was removed), enables the controllers its
//       limits need, writes the limits, and returns
//       { cgroupFd, join, warnings } -> spawn({ ..., cgroupFd, cgroupJoin: join }); log each warning
//                                (a limit the kernel cannot apply: the unit starts anyway).
//                                cgroupFd is the cgroup's directory (O_DIRECTORY), where
//                                the child starts (clone3's CLONE_INTO_CGROUP). The fd
//                                belongs to the tree; it stays open until removeUnit.
//       { error }             -> the cgroup could not be made: start without it, log.
//   tree.pids("web")          every pid in the unit's cgroup (and cgroups below it)
//   tree.kill("web", signal)  signals all of them (SIGKILL through cgroup.kill where the
//                             kernel has it, 5.14+); see kill() for the details
//   tree.isEmpty("web")       no process left (cgroup.events: populated 0)
//   tree.removeUnit("web")    rmdir once empty (false while processes remain)
//   tree.unitOfPid(pid)       the unit a process belongs to, from /proc/PID/cgroup, or null
//   tree.close()              at exit: removes the empty unit cgroups, and in run mode the
//                             manager's own subtree
//
// Where the cgroups are:
//   system mode (PID 1):  <mount>/hearth/<unit>.service
//   run mode (`hearth run`, tests): <mount><own cgroup>/hearth-run-<pid>/<unit>.service,
//       so that managers running side by side (parallel tests) never share a cgroup; the
//       subtrees of managers that died without cleaning up (their pid is gone) are
//       removed when the next one starts, if empty.
// <mount> is wherever cgroup2 is mounted (/sys/fs/cgroup on the board; /sys/fs/cgroup/unified
// on a hybrid-hierarchy host). A unit's directory is named <unit>.service, as systemd
// names them, so that no unit name can collide with a cgroup interface file
// ("memory.max", "cgroup.procs").
//
// Controllers are enabled lazily, down the chain of cgroup.subtree_control files from the
// top we may manage (the mount root in system mode, our own cgroup in run mode) to the
// hearth subtree, only when a unit sets a limit that needs one: the cpu controller in
// particular changes how CPU time is shared, so it is not turned on for nothing. Run
// mode in a non-root cgroup cannot enable any ("no internal processes": our own cgroup
// holds the manager), which is then reported per unit as a warning.
//
// Writes to cgroupfs are synchronous; they are in-memory and quick, except lowering
// memory.max below what a running unit uses, which reclaims (or OOM-kills) first.
//
// The cost per spawn: the spawner starts the child in its cgroup with clone3's
// CLONE_INTO_CGROUP (Linux 5.7+), which migrates nothing. A child that moved itself by
// writing cgroup.procs (the fallback on older kernels) write-locks the kernel's
// cgroup_threadgroup_rwsem, which waits for an RCU grace period unless the hierarchy is
// mounted with favordynmods (Linux 6.0+) or another migration happened moments before:
// measured on the 2-core development VM under load, ~6 ms median (15 ms p90) for a spawn
// 50 ms after the previous one, against ~40 µs back to back, and the parent (PID 1's
// loop) waits through it (CLONE_VFORK). tree.favorDynmods says whether the mount has the
// option.
//
// cgroup.kill and clone3: the kernel (since the fix of the race between fork and
// cgroup.kill, 6.14 and its stable backports, up to at least 6.18) SIGKILLs a child
// started by CLONE_INTO_CGROUP in a cgroup that was ever cgroup.kill'ed: it compares the
// kill count of the parent's cgroup, read at the start of the fork, with the target's at
// its end. So a unit's cgroup that went through cgroup.kill is made anew (rmdir, mkdir) at
// the unit's next start; while a dying process still holds it, that start's processes
// join it through cgroup.procs instead (ensureUnit's `join`).

import { chownSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { O, SIGNALS } from "../../ffi/constants.ts";
import { close, openFile } from "../../ffi/fd.ts";
import { libc } from "../../ffi/libc.ts";

export type CgroupMode = "system" | "run";

/** A unit's resource limits; unset (undefined or null) means no limit. */
export interface CgroupLimits {
  /** memory.max, in bytes; Infinity: no limit. */
  memoryMax?: number | null;
  /** cpu.max as a percentage of one CPU: 50 is half a CPU, 200 two CPUs. */
  cpuQuota?: number | null;
  /** pids.max; Infinity: no limit. */
  tasksMax?: number | null;
}

/**
 * cgroupFd: the unit's cgroup directory. join: the child must enter it by writing
 * cgroup.procs, not start in it (clone3): the cgroup was emptied by cgroup.kill and still
 * holds a process, so it could not be made anew (see "cgroup.kill" at the top).
 */
export type EnsuredUnit = { cgroupFd: number; join: boolean; warnings: string[] } | { error: string };

/** Kept with a unit's cgroup until it goes: its BPF programs (src/exec/cgroup-bpf.ts). */
export interface CgroupAttachment {
  /** What it was made from: ensureUnit makes a new one only when the key changes. */
  key: string;
  /** Detaches from cgroupFd and closes what it holds. */
  release(cgroupFd: number): void;
}

/** What ensureUnit attaches to the cgroup before the unit's first process runs there. */
export interface AttachRequest {
  key: string;
  make(cgroupFd: number): { attachment: CgroupAttachment | null; warnings: string[] } | { error: string };
}

// ---------------------------------------------------------------- pure parts

/** The cgroup2 mount: where it is, which cgroup its root is (mountinfo field 4), its options. */
export interface Cgroup2Mount {
  mountPoint: string;
  root: string;
  /** The super block options ("rw,nsdelegate,favordynmods"), split. */
  options: string[];
}

/** "\040" and friends: mountinfo escapes space, tab, newline and backslash in octal. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The first cgroup2 mount in /proc/self/mountinfo text (proc(5): "ID PARENT MAJ:MIN ROOT
 * MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS"), or null.
 */
export function findCgroup2Mount(mountinfo: string): Cgroup2Mount | null {
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    if (separator < 0 || fields[separator + 1] !== "cgroup2") continue;
    return {
      mountPoint: unescapeMountinfo(fields[4]!),
      root: unescapeMountinfo(fields[3]!),
      options: (fields[separator + 3] ?? "").split(","),
    };
  }
  return null;
}

/** The cgroup v2 path of a process from /proc/PID/cgroup text (its "0::/path" line), or null. */
export function parseProcCgroup(text: string): string | null {
  const line = text.split("\n").find((l) => l.startsWith("0::"));
  return line === undefined ? null : line.slice(3);
}

/** The cgroup period systemd uses for CPUQuota= (CPUQuotaPeriodSec= default): 100 ms. */
const CPU_PERIOD_USEC = 100_000;
/** The smallest quota the kernel takes (kernel/sched/core.c: min_cfs_quota_period, 1 ms). */
const CPU_MIN_QUOTA_USEC = 1000;

/** memory.max: bytes, or "max". */
export function formatMemoryMax(bytes: number): string {
  return bytes === Infinity ? "max" : String(Math.floor(bytes));
}

/** cpu.max: "$QUOTA $PERIOD" in microseconds; 50 (%) is "50000 100000". */
export function formatCpuQuota(percent: number): string {
  const quota = Math.max(CPU_MIN_QUOTA_USEC, Math.round((percent / 100) * CPU_PERIOD_USEC));
  return `${quota} ${CPU_PERIOD_USEC}`;
}

/** pids.max: a count, or "max". */
export function formatTasksMax(count: number): string {
  return count === Infinity ? "max" : String(Math.floor(count));
}

interface LimitFile {
  key: keyof CgroupLimits;
  /** The configuration key, for messages. */
  setting: string;
  controller: string;
  file: string;
  format: (value: number) => string;
}

const LIMIT_FILES: readonly LimitFile[] = [
  { key: "memoryMax", setting: "memory_max", controller: "memory", file: "memory.max", format: formatMemoryMax },
  { key: "cpuQuota", setting: "cpu_quota", controller: "cpu", file: "cpu.max", format: formatCpuQuota },
  { key: "tasksMax", setting: "tasks_max", controller: "pids", file: "pids.max", format: formatTasksMax },
];

/** What goes into each interface file for these limits ("max" for an unset one). */
export function limitFileValues(limits: CgroupLimits): Record<string, string> {
  const values: Record<string, string> = {};
  for (const { key, file, format } of LIMIT_FILES) {
    const value = limits[key];
    values[file] = value === undefined || value === null ? "max" : format(value);
  }
  return values;
}

/** A unit's directory name (see the top of this file) and back. */
export function unitDirName(unit: string): string {
  return `${unit}.service`;
}

function unitFromDirName(name: string): string | null {
  return name.endsWith(".service") ? name.slice(0, -".service".length) : null;
}

/** The unit of a process, given its cgroup path and the hearth subtree's path (both as /proc/PID/cgroup writes them). */
export function unitOfCgroupPath(path: string, subtree: string): string | null {
  const prefix = subtree === "/" ? "/" : `${subtree}/`;
  if (!path.startsWith(prefix)) return null;
  return unitFromDirName(path.slice(prefix.length).split("/")[0]!);
}

// ---------------------------------------------------------------- effects

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/** Writes one value to a cgroup interface file (no O_CREAT, no O_TRUNC: cgroupfs files exist or not). */
function writeInterfaceFile(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function readWords(path: string): string[] {
  return readFileSync(path, "utf8").split(/\s+/).filter(Boolean);
}

function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** The cgroup directories from dir down, deepest first (the order rmdir needs). */
function cgroupDirsBottomUp(dir: string): string[] {
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    return [];
  }
  return [...children.flatMap(cgroupDirsBottomUp), dir];
}

/** rmdir dir and every cgroup below it; false if one still has processes (or cannot go). */
function removeCgroupTree(dir: string): boolean {
  for (const each of cgroupDirsBottomUp(dir)) {
    try {
      rmdirSync(each);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") return false;
    }
  }
  return true;
}

const SIGKILL = SIGNALS.SIGKILL!;
const SIGCONT = SIGNALS.SIGCONT!;
/** kill(): passes over cgroup.procs before giving up on processes forking as fast as we signal. */
const MAX_KILL_PASSES = 100;

export class CgroupTree {
  private readonly cgroupFds = new Map<string, number>();
  /** Units whose cgroup went through cgroup.kill (see "cgroup.kill and clone3" at the top). */
  private readonly killed = new Set<string>();
  private readonly enabled = new Set<string>();
  private readonly attachments = new Map<string, CgroupAttachment>();

  /**
   * @param mode         system or run (see the top of this file)
   * @param dir          the hearth subtree's directory
   * @param cgroupPath   the same as /proc/PID/cgroup shows it
   * @param enableChain  directories whose cgroup.subtree_control must list a controller
   *                     for the unit cgroups to have it, top first (the last is `dir`)
   */
  constructor(
    readonly mode: CgroupMode,
    readonly dir: string,
    readonly cgroupPath: string,
    private readonly enableChain: string[],
    /** cgroup.kill exists (Linux 5.14+). */
    readonly hasKill: boolean,
    /** The hierarchy is mounted with favordynmods: joining a cgroup does not wait for RCU (see the top). */
    readonly favorDynmods: boolean = false,
  ) {}

  /** The directory of a unit's cgroup (it may not exist). */
  unitDir(unit: string): string {
    return join(this.dir, unitDirName(unit));
  }

  /**
   * Creates the unit's cgroup if needed, applies its limits and attaches what `attach`
   * makes (once per cgroup and key: the one there is replaced when the key changes, let go
   * when attach is absent); see the top of this file.
   */
  ensureUnit(unit: string, limits: CgroupLimits = {}, attach?: AttachRequest): EnsuredUnit {
    if (unit === "" || /[/\n\0]/.test(unit)) return { error: `no cgroup for a unit named ${JSON.stringify(unit)}` };
    const dir = this.unitDir(unit);
    if (this.killed.has(unit)) this.removeUnit(unit); // anew if it is empty; else kept, and joined
    try {
      mkdirSync(dir);
    } catch (error) {
      if (errorCode(error) !== "EEXIST") return { error: `cgroup of ${unit}: mkdir ${dir}: ${errorCode(error)}` };
    }
    let cgroupFd = this.cgroupFds.get(unit);
    if (cgroupFd === undefined) {
      try {
        cgroupFd = openFile(dir, O.RDONLY | O.DIRECTORY);
      } catch (error) {
        return { error: `cgroup of ${unit}: ${(error as Error).message}` };
      }
      this.cgroupFds.set(unit, cgroupFd);
    }
    const warnings = this.applyLimits(unit, dir, limits);
    const held = this.attachments.get(unit);
    if (held?.key !== attach?.key) {
      held?.release(cgroupFd);
      this.attachments.delete(unit);
      const made = attach?.make(cgroupFd);
      if (made && "error" in made) return { error: `cgroup of ${unit}: ${made.error}` };
      if (made?.attachment) this.attachments.set(unit, made.attachment);
      warnings.push(...(made?.warnings ?? []));
    }
    return { cgroupFd, join: this.killed.has(unit), warnings };
  }

  /** Writes every limit whose controller the unit's cgroup has; a warning for each set one it cannot. */
  private applyLimits(unit: string, dir: string, limits: CgroupLimits): string[] {
    const warnings: string[] = [];
    const values = limitFileValues(limits);
    for (const { key, setting, controller, file } of LIMIT_FILES) {
      const wanted = limits[key] !== undefined && limits[key] !== null;
      if (wanted) {
        const problem = this.enableController(controller);
        if (problem) {
          warnings.push(`${unit}: ${setting} not applied: ${problem}`);
          continue;
        }
      }
      const path = join(dir, file);
      if (!wanted && !existsSync(path)) continue; // nothing to set, nothing to reset
      try {
        writeInterfaceFile(path, values[file]!);
      } catch (error) {
        if (wanted) warnings.push(`${unit}: ${setting} not applied: writing "${values[file]}" to ${path}: ${errorCode(error)}`);
      }
    }
    return warnings;
  }

  /**
   * Delegation (systemd's Delegate=): the controllers asked for enabled for the unit's
   * cgroup (all the hierarchy offers, for "all"), and the cgroup given to the unit's user
   * (the directory and the files that let it make and fill cgroups below: cgroup.procs,
   * cgroup.threads, cgroup.subtree_control), so that it may manage its own subtree. Call
   * after ensureUnit, at each spawn (the cgroup may have been made anew). Warnings back.
   */
  delegate(unit: string, controllers: "all" | readonly string[], owner: { uid: number; gid: number }): string[] {
    const warnings: string[] = [];
    const offered = controllers === "all" ? readWords(join(this.enableChain[0]!, "cgroup.controllers")) : controllers;
    for (const controller of offered) {
      const problem = this.enableController(controller);
      if (problem && controllers !== "all") warnings.push(`delegate: ${problem}`);
    }
    if (owner.uid === 0 && owner.gid === 0) return warnings;
    const dir = this.unitDir(unit);
    for (const path of [dir, ...["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"].map((f) => join(dir, f))]) {
      try {
        chownSync(path, owner.uid, owner.gid);
      } catch (error) {
        warnings.push(`delegate: chown ${path}: ${errorCode(error)}`);
      }
    }
    return warnings;
  }

  /** Turns a controller on down the enable chain; null when the unit cgroups have it, else why not. */
  private enableController(controller: string): string | null {
    if (this.enabled.has(controller)) return null;
    for (const dir of this.enableChain) {
      try {
        if (readWords(join(dir, "cgroup.subtree_control")).includes(controller)) continue;
        const available = readWords(join(dir, "cgroup.controllers"));
        if (!available.includes(controller)) {
          return `the ${controller} controller is not available in ${dir} (it offers: ${available.join(" ") || "none"})`;
        }
        writeInterfaceFile(join(dir, "cgroup.subtree_control"), `+${controller}`);
      } catch (error) {
        const hint = errorCode(error) === "EBUSY" ? " (the cgroup has processes of its own)" : "";
        return `cannot enable the ${controller} controller in ${dir}: ${errorCode(error)}${hint}`;
      }
    }
    this.enabled.add(controller);
    return null;
  }

  /** Every pid in the unit's cgroup and the cgroups below it; [] if it does not exist. */
  pids(unit: string): number[] {
    const pids: number[] = [];
    for (const dir of cgroupDirsBottomUp(this.unitDir(unit))) {
      try {
        for (const word of readWords(join(dir, "cgroup.procs"))) pids.push(Number(word));
      } catch {
        // removed meanwhile
      }
    }
    return pids;
  }

  /**
   * Signals every process of the unit; returns how many were signalled. SIGKILL goes
   * through cgroup.kill where it exists (atomic: a process forking at that moment cannot
   * escape). Otherwise cgroup.procs is read and each new pid signalled, pass after pass,
   * until a pass finds no new one (a process forking meanwhile is caught by the next
   * pass), at most 100 passes. After any other signal than SIGKILL and SIGCONT, the same
   * processes get SIGCONT, so that a stopped one wakes up to handle it (as systemd does).
   * Never signals the manager itself.
   */
  kill(unit: string, signal: number): number {
    if (signal === SIGKILL && this.hasKill) {
      const count = this.pids(unit).length;
      if (count === 0) return 0;
      try {
        this.killed.add(unit); // before the write: a write that fails half-way may have counted
        writeInterfaceFile(join(this.unitDir(unit), "cgroup.kill"), "1");
        return count;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return 0;
        // else fall through to signalling one by one
      }
    }
    const signalled = new Set<number>();
    for (let pass = 0; pass < MAX_KILL_PASSES; pass++) {
      const fresh = this.pids(unit).filter((pid) => !signalled.has(pid) && pid !== process.pid);
      if (fresh.length === 0) break;
      for (const pid of fresh) {
        signalled.add(pid);
        libc.kill(pid, signal); // ESRCH: gone meanwhile; EPERM: not ours to signal. Neither matters here.
      }
    }
    if (signal !== SIGKILL && signal !== SIGCONT) for (const pid of signalled) libc.kill(pid, SIGCONT);
    return signalled.size;
  }

  /** True when no process is left in the unit's cgroup (or it does not exist). */
  isEmpty(unit: string): boolean {
    try {
      return /^populated 0$/m.test(readFileSync(join(this.unitDir(unit), "cgroup.events"), "utf8"));
    } catch {
      return true;
    }
  }

  /** Closes the unit's directory fd and removes its cgroup; false (and nothing removed) while processes remain. */
  removeUnit(unit: string): boolean {
    if (!this.isEmpty(unit)) return false;
    const fd = this.cgroupFds.get(unit);
    if (fd !== undefined) {
      this.attachments.get(unit)?.release(fd);
      this.attachments.delete(unit);
      this.cgroupFds.delete(unit);
      close(fd);
    }
    if (!removeCgroupTree(this.unitDir(unit))) return false;
    this.killed.delete(unit);
    return true;
  }

  /** The unit whose cgroup holds the process, or null (not in the tree, gone, or no /proc). */
  unitOfPid(pid: number): string | null {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/cgroup`, "utf8");
    } catch {
      return null;
    }
    const path = parseProcCgroup(text);
    return path === null ? null : unitOfCgroupPath(path, this.cgroupPath);
  }

  /** The units that have a cgroup now (found on disk, so it includes those of an earlier manager). */
  units(): string[] {
    try {
      return readdirSync(this.dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => unitFromDirName(e.name))
        .filter((unit): unit is string => unit !== null);
    } catch {
      return [];
    }
  }

  /** At exit: removes every empty unit cgroup and, in run mode, the subtree itself if it is empty. */
  close(): void {
    for (const unit of new Set([...this.units(), ...this.cgroupFds.keys()])) this.removeUnit(unit);
    if (this.mode === "run") removeCgroupTree(this.dir);
  }
}

/** Where to look and what to call things; for tests. */
export interface DiscoverOptions {
  /** The run-mode subtree's name; default hearth-run-<pid>. */
  name?: string;
}

/**
 * Finds the cgroup2 hierarchy and makes the hearth subtree in it (see the top of this
 * file); or says why there is none to use.
 */
export function discoverCgroups(mode: CgroupMode, options: DiscoverOptions = {}): CgroupTree | { unavailable: string } {
  let mount: Cgroup2Mount | null;
  let ownPath: string | null;
  try {
    mount = findCgroup2Mount(readFileSync("/proc/self/mountinfo", "utf8"));
    ownPath = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  } catch (error) {
    return { unavailable: `cannot read /proc: ${errorCode(error)}` };
  }
  if (mount === null) return { unavailable: "no cgroup2 file system is mounted" };
  if (ownPath === null) return { unavailable: "this process is in no cgroup v2 hierarchy (/proc/self/cgroup has no 0:: line)" };
  if (!(ownPath + "/").startsWith(mount.root === "/" ? "/" : `${mount.root}/`)) {
    return { unavailable: `the cgroup2 mount at ${mount.mountPoint} shows ${mount.root}, not our cgroup ${ownPath}` };
  }
  const inMount = (cgroupPath: string) => join(mount.mountPoint, cgroupPath.slice(mount.root.length));

  let cgroupPath: string;
  let enableChain: string[];
  if (mode === "system") {
    cgroupPath = join(mount.root, "hearth");
    enableChain = [mount.mountPoint, inMount(cgroupPath)];
  } else {
    cgroupPath = join(ownPath, options.name ?? `hearth-run-${process.pid}`);
    enableChain = [inMount(ownPath), inMount(cgroupPath)];
    removeStaleRunSubtrees(inMount(ownPath));
  }
  const dir = inMount(cgroupPath);
  try {
    mkdirSync(dir);
  } catch (error) {
    if (errorCode(error) !== "EEXIST") {
      return { unavailable: `the cgroup2 hierarchy at ${mount.mountPoint} is not writable here: mkdir ${dir}: ${errorCode(error)}` };
    }
  }
  if (!existsSync(join(dir, "cgroup.procs"))) return { unavailable: `${dir} is not a cgroup (no cgroup.procs)` };
  const hasKill = existsSync(join(dir, "cgroup.kill"));
  return new CgroupTree(mode, dir, cgroupPath, enableChain, hasKill, mount.options.includes("favordynmods"));
}

/** Removes the empty hearth-run-<pid> subtrees of managers that are gone. */
function removeStaleRunSubtrees(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^hearth-run-(\d+)$/.exec(name);
    if (match && Number(match[1]) !== process.pid && !processExists(Number(match[1]))) removeCgroupTree(join(parent, name));
  }
}
