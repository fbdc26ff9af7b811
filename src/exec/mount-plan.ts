// The private mount namespace of a unit's processes, planned as systemd's namespace.c
// plans it, and handed to the child (ffi/native.c) as plain steps it carries out blindly.
// Pure: the mount points of the host come in as a list (from /proc/self/mountinfo).
//
// 1. Every directive becomes entries: a path, a mode, whether a missing path is fine.
//    protect_system = "strict" is "/" read-only with /proc, /sys, /dev, /home, /root,
//    /run/user and the unit's own directories left as they are; and so on (tables below).
// 2. Entries are sorted parents first; at one path the stronger mode wins (inaccessible
//    over a mount over read-only over read-write); entries below an inaccessible path go.
// 3. The mounts are made in that order: binds, tmpfs, the private /dev and /tmp, a new
//    /proc, hidden paths; a path whose flags will change but is no mount point of its own
//    is bound onto itself first (flags belong to mounts, not to directories).
// 4. Then the flags: for each read-only (no-exec, exec) entry, the mount at its path and
//    every mount below it get MOUNT_ATTR_RDONLY (NOEXEC set, cleared), one mount at a time,
//    except those at or below another entry's path, which decides for itself (so a
//    read-write path or the private /tmp inside a read-only "/" stays writable).

import { posix } from "node:path";
import type { NativeMount } from "../../ffi/spawn.ts";
import { ATTR } from "../../ffi/spawn-layout.ts";

export type ProtectSystem = boolean | "full" | "strict";
export type ProtectHome = boolean | "read-only" | "tmpfs";
export type ProtectProc = "default" | "invisible" | "ptraceable" | "noaccess";

/** The mount directives of a unit, as the spawner receives them. */
export interface Sandbox {
  protectSystem?: ProtectSystem;
  protectHome?: ProtectHome;
  privateDevices?: boolean;
  protectKernelTunables?: boolean;
  protectKernelModules?: boolean;
  protectKernelLogs?: boolean;
  protectControlGroups?: boolean;
  /** The real-time clock devices hidden (systemd does it with a device cgroup filter). */
  protectClock?: boolean;
  protectProc?: ProtectProc;
  procSubset?: "all" | "pid";
  /** Paths with systemd's prefixes: "-" a missing path is fine, "+" (relative to the root directory: here "/"). */
  readWritePaths?: string[];
  readOnlyPaths?: string[];
  inaccessiblePaths?: string[];
  execPaths?: string[];
  noExecPaths?: string[];
  /** "PATH[:OPTIONS]": an empty tmpfs; OPTIONS as mount(8)'s, "ro" among them. */
  temporaryFileSystem?: string[];
  /** "[-]SOURCE[:DEST[:rbind|norbind]]". */
  bindPaths?: string[];
  bindReadOnlyPaths?: string[];
  /** The unit's private /tmp and /var/tmp on the host, bound over /tmp and /var/tmp. */
  privateTmp?: { tmp: string; varTmp: string | null };
  /** The unit's runtime, state, cache, logs directories: writable whatever else says. */
  writableDirectories?: string[];
}

/** Strongest first: at one path, the mode earlier in this list wins (systemd's order). */
const MODES = [
  "inaccessible", "bind", "private-tmp", "private-dev", "proc", "tmpfs",
  "read-only", "read-write", "no-exec", "exec", "implicit",
] as const;
type Mode = (typeof MODES)[number];

interface Entry {
  path: string;
  mode: Mode;
  optional: boolean;
  /** The key it comes from, for error messages. */
  key: string;
  source?: string;
  recursive?: boolean;
  readOnly?: boolean;
  data?: string;
  set?: number;
}

/** A planned step and the key it comes from (the error names it). */
export interface PlannedMount extends NativeMount {
  key: string;
}

function entry(path: string, mode: Mode, optional: boolean, key: string, more: Partial<Entry> = {}): Entry {
  return { path, mode, optional, key, ...more };
}

// namespace.c's tables, as of systemd 255.
const KERNEL_TUNABLES: [string, Mode][] = [
  ["/proc/acpi", "read-only"], ["/proc/apm", "read-only"], ["/proc/asound", "read-only"],
  ["/proc/bus", "read-only"], ["/proc/fs", "read-only"], ["/proc/irq", "read-only"],
  ["/proc/kallsyms", "inaccessible"], ["/proc/kcore", "inaccessible"],
  ["/proc/latency_stats", "read-only"], ["/proc/mtrr", "read-only"], ["/proc/scsi", "read-only"],
  ["/proc/sys", "read-only"], ["/proc/sysrq-trigger", "read-only"], ["/proc/timer_list", "read-only"],
  ["/sys", "read-only"], ["/sys/fs/bpf", "read-only"], ["/sys/kernel/debug", "read-only"],
  ["/sys/kernel/tracing", "read-only"], ["/sys/fs/cgroup", "implicit"], ["/sys/fs/selinux", "implicit"],
];
const KERNEL_MODULES = ["/lib/modules", "/usr/lib/modules"];
const KERNEL_LOGS = ["/proc/kmsg", "/dev/kmsg"];
const RTC_DEVICES = ["/dev/rtc", "/dev/rtc0", "/dev/rtc1", "/dev/rtc2", "/dev/rtc3"];
const HOMES = ["/home", "/root", "/run/user"];
/** Left as they are by protect_system = "strict": the API file systems. */
const API_FILE_SYSTEMS = ["/proc", "/sys", "/dev"];
/** Device nodes of the private /dev, as systemd's PrivateDevices= (bound from the host's). */
const DEVICE_NODES = ["null", "zero", "full", "random", "urandom", "tty"];
const DEVICE_LINKS: [string, string][] = [
  ["fd", "/proc/self/fd"], ["stdin", "/proc/self/fd/0"], ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"], ["ptmx", "pts/ptmx"],
];
/** Where the private /dev is put together before it is moved onto /dev. */
const DEV_STAGING = "/tmp";

/** A path as given (prefixes "-", "+"), checked and normalized; or what is wrong. */
function readPath(text: string, key: string): { path: string; optional: boolean } | string {
  let rest = text;
  let optional = false;
  while (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") optional = true;
    rest = rest.slice(1);
  }
  return normalized(rest, key, text) ?? { path: posix.normalize(rest).replace(/(.)\/+$/, "$1"), optional };
}

function normalized(path: string, key: string, text: string): string | null {
  if (!path.startsWith("/")) return `${key}: not an absolute path: "${text}"`;
  if (path.split("/").includes("..")) return `${key}: ".." in "${text}"`;
  if (path.includes("\0")) return `${key}: NUL in "${text}"`;
  return null;
}

function pathEntries(list: string[] | undefined, mode: Mode, key: string, out: Entry[]): string | null {
  for (const text of list ?? []) {
    const read = readPath(text, key);
    if (typeof read === "string") return read;
    out.push(entry(read.path, mode, read.optional, key));
  }
  return null;
}

/** bind_paths: "[-]SOURCE[:DEST[:rbind|norbind]]". */
function bindEntries(list: string[] | undefined, readOnly: boolean, key: string, out: Entry[]): string | null {
  for (const text of list ?? []) {
    const [sourceText, destText, option, ...extra] = text.split(":");
    if (extra.length > 0 || (option !== undefined && option !== "rbind" && option !== "norbind")) {
      return `${key}: "${text}": expected SOURCE[:DEST[:rbind|norbind]]`;
    }
    const source = readPath(sourceText!, key);
    if (typeof source === "string") return source;
    const dest = destText === undefined || destText === "" ? { path: source.path } : readPath(destText, key);
    if (typeof dest === "string") return dest;
    out.push(entry(dest.path, "bind", source.optional, key, { source: source.path, recursive: option !== "norbind", readOnly }));
  }
  return null;
}

/** temporary_file_system: "PATH[:OPTIONS]"; "ro" makes it read-only. */
function tmpfsEntries(list: string[] | undefined, out: Entry[]): string | null {
  const key = "temporary_file_system";
  for (const text of list ?? []) {
    const colon = text.indexOf(":");
    const read = readPath(colon < 0 ? text : text.slice(0, colon), key);
    if (typeof read === "string") return read;
    const options = colon < 0 ? [] : text.slice(colon + 1).split(",").filter((o) => o !== "");
    if (options.some((o) => !/^[A-Za-z0-9_=.%+-]+$/.test(o))) return `${key}: "${text}": bad mount options`;
    const flags: Record<string, number> = { ro: ATTR.rdonly, nosuid: ATTR.nosuid, nodev: ATTR.nodev, noexec: ATTR.noexec };
    let set = ATTR.nodev; // systemd's default for it: nodev, strictatime, mode=0755
    const data: string[] = [];
    for (const option of options) {
      if (option in flags) set |= flags[option]!;
      else if (option === "rw" || option === "dev" || option === "suid" || option === "exec") set &= option === "dev" ? ~ATTR.nodev : ~0;
      else data.push(option);
    }
    if (!data.some((o) => o.startsWith("mode="))) data.unshift("mode=0755");
    out.push(entry(read.path, "tmpfs", false, key, { data: data.join(","), set }));
  }
  return null;
}

/** The entries the directives make, unsorted; or what is wrong with a path. */
export function sandboxEntries(sb: Sandbox): Entry[] | string {
  const out: Entry[] = [];
  const add = (path: string, mode: Mode, optional: boolean, key: string, more?: Partial<Entry>) =>
    out.push(entry(path, mode, optional, key, more));
  const ps = sb.protectSystem ?? false;
  if (ps !== false) {
    const key = "protect_system";
    if (ps === "strict") {
      add("/", "read-only", false, key);
      for (const path of [...API_FILE_SYSTEMS, ...HOMES]) add(path, "implicit", true, key);
    } else {
      add("/usr", "read-only", false, key);
      add("/boot", "read-only", true, key);
      add("/efi", "read-only", true, key);
      if (ps === "full") add("/etc", "read-only", false, key);
    }
  }
  const ph = sb.protectHome ?? false;
  if (ph !== false) {
    for (const path of HOMES) {
      if (ph === true) add(path, "inaccessible", true, "protect_home");
      else if (ph === "read-only") add(path, "read-only", true, "protect_home");
      else add(path, "tmpfs", true, "protect_home", { data: "mode=0755", set: ATTR.rdonly | ATTR.nodev | ATTR.nosuid });
    }
  }
  if (sb.privateDevices) add("/dev", "private-dev", false, "private_devices");
  if (sb.protectKernelTunables) for (const [path, mode] of KERNEL_TUNABLES) add(path, mode, true, "protect_kernel_tunables");
  if (sb.protectKernelModules) for (const path of KERNEL_MODULES) add(path, "inaccessible", true, "protect_kernel_modules");
  if (sb.protectKernelLogs) for (const path of KERNEL_LOGS) add(path, "inaccessible", true, "protect_kernel_logs");
  if (sb.protectControlGroups) add("/sys/fs/cgroup", "read-only", true, "protect_control_groups");
  if (sb.protectClock) for (const path of RTC_DEVICES) add(path, "inaccessible", true, "protect_clock");
  const hidepid = sb.protectProc && sb.protectProc !== "default" ? sb.protectProc : null;
  if (hidepid || sb.procSubset === "pid") {
    const data = [hidepid ? `hidepid=${hidepid}` : "", sb.procSubset === "pid" ? "subset=pid" : ""].filter((o) => o).join(",");
    add("/proc", "proc", false, hidepid ? "protect_proc" : "proc_subset", { data, set: ATTR.nosuid | ATTR.nodev | ATTR.noexec });
  }
  if (sb.privateTmp) {
    add("/tmp", "private-tmp", false, "private_tmp", { source: sb.privateTmp.tmp });
    if (sb.privateTmp.varTmp !== null) add("/var/tmp", "private-tmp", true, "private_tmp", { source: sb.privateTmp.varTmp });
  }
  for (const dir of sb.writableDirectories ?? []) add(dir, "implicit", false, "directories");
  const problem = pathEntries(sb.readWritePaths, "read-write", "read_write_paths", out)
    ?? pathEntries(sb.readOnlyPaths, "read-only", "read_only_paths", out)
    ?? pathEntries(sb.inaccessiblePaths, "inaccessible", "inaccessible_paths", out)
    ?? pathEntries(sb.execPaths, "exec", "exec_paths", out)
    ?? pathEntries(sb.noExecPaths, "no-exec", "no_exec_paths", out)
    ?? tmpfsEntries(sb.temporaryFileSystem, out)
    ?? bindEntries(sb.bindPaths, false, "bind_paths", out)
    ?? bindEntries(sb.bindReadOnlyPaths, true, "bind_read_only_paths", out);
  return problem ?? out;
}

/** Path order, component by component: a parent sorts before everything below it. */
function comparePaths(a: string, b: string): number {
  const pa = a.split("/").filter((p) => p !== "");
  const pb = b.split("/").filter((p) => p !== "");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** path is below (or at, with orEqual) base. */
export function isBelow(path: string, base: string, orEqual = false): boolean {
  if (path === base) return orEqual;
  return base === "/" || path.startsWith(`${base}/`);
}

/** Modes that put a new file system over their path: what was below it is out of sight. */
const COVERING: readonly Mode[] = ["inaccessible", "bind", "private-tmp", "private-dev", "proc", "tmpfs"];

/**
 * Sorted parents first, one entry per path (the strongest), none below a hidden path, and
 * no path to leave as it is below a new mount (a runtime directory under a private /tmp
 * in `hearth run`: the host's is not there to keep).
 */
export function normalizeEntries(entries: Entry[]): Entry[] {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path) || MODES.indexOf(a.mode) - MODES.indexOf(b.mode));
  const kept: Entry[] = [];
  for (const e of sorted) {
    const last = kept.at(-1);
    if (last?.path === e.path) continue;
    if (kept.some((k) => k.mode === "inaccessible" && isBelow(e.path, k.path))) continue;
    if (e.mode === "implicit" && kept.some((k) => COVERING.includes(k.mode) && isBelow(e.path, k.path))) continue;
    kept.push(e);
  }
  return kept;
}

/** The mount points the child will see, kept up to date as the plan mounts things. */
class MountPoints {
  private readonly points: Set<string>;
  constructor(points: string[]) {
    this.points = new Set(["/", ...points]);
  }
  has(path: string): boolean {
    return this.points.has(path);
  }
  /** A new mount at path hides whatever was mounted below it. */
  cover(path: string): void {
    for (const p of this.points) if (isBelow(p, path)) this.points.delete(p);
    this.points.add(path);
  }
  /** A recursive bind of source at path brings source's mounts along. */
  bind(source: string, path: string, recursive: boolean): void {
    const below = recursive ? [...this.points].filter((p) => isBelow(p, source)) : [];
    this.cover(path);
    for (const p of below) this.points.add(path === "/" ? p.slice(source.length) : path + p.slice(source === "/" ? 0 : source.length));
  }
  /** path and the mounts below it, parents first. */
  within(path: string): string[] {
    return [...this.points].filter((p) => isBelow(p, path, true)).sort(comparePaths);
  }
}

/** A mount point for a path whose flags change: the path bound onto itself unless it is one. */
function ensureMountPoint(e: Entry, points: MountPoints, out: PlannedMount[]): void {
  if (points.has(e.path)) return;
  out.push({ kind: "bind", path: e.path, source: e.path, recursive: true, optional: e.optional, key: e.key });
  points.bind(e.path, e.path, true);
}

/** The steps of the private /dev (systemd's mount_private_dev), built at DEV_STAGING and moved. */
function privateDevSteps(e: Entry): PlannedMount[] {
  const key = e.key;
  const at = (name: string) => `${DEV_STAGING}/${name}`;
  const steps: PlannedMount[] = [
    { kind: "tmpfs", path: DEV_STAGING, data: "mode=0755", set: ATTR.nosuid | ATTR.noexec, optional: false, key },
  ];
  for (const [dir, optional] of [["pts", false], ["shm", true], ["mqueue", true], ["hugepages", true]] as const) {
    steps.push({ kind: "mkdir", path: at(dir), optional: false, key });
    steps.push({ kind: "bind", path: at(dir), source: `/dev/${dir}`, recursive: true, optional, key });
  }
  for (const node of DEVICE_NODES) {
    steps.push({ kind: "mkfile", path: at(node), optional: false, key });
    steps.push({ kind: "bind", path: at(node), source: `/dev/${node}`, optional: true, key });
  }
  for (const [name, target] of DEVICE_LINKS) steps.push({ kind: "symlink", path: at(name), source: target, optional: false, key });
  steps.push({ kind: "move", path: "/dev", source: DEV_STAGING, optional: false, key });
  // The tmpfs itself read-only (nothing new appears in /dev); the mounts in it stay writable.
  steps.push({ kind: "setattr", path: "/dev", set: ATTR.rdonly, optional: false, key });
  return steps;
}

/** Step 3: the mounts, parents first. */
function mountSteps(entries: Entry[], points: MountPoints): PlannedMount[] {
  const out: PlannedMount[] = [];
  for (const e of entries) {
    const { path, optional, key } = e;
    switch (e.mode) {
      case "inaccessible":
        out.push({ kind: "inaccessible", path, optional, key });
        points.cover(path);
        break;
      case "bind":
        out.push({ kind: "bind", path, source: e.source, recursive: e.recursive, optional, key });
        points.bind(e.source!, path, e.recursive ?? false);
        break;
      case "private-tmp":
        out.push({ kind: "bind", path, source: e.source, recursive: false, optional, key });
        points.cover(path);
        break;
      case "private-dev":
        out.push(...privateDevSteps(e));
        points.cover(path);
        break;
      case "proc":
      case "tmpfs":
        out.push({ kind: e.mode, path, data: e.data, set: e.set, optional, key });
        points.cover(path);
        break;
      default: // read-only, read-write, exec, no-exec, implicit: their flags are set in step 4
        ensureMountPoint(e, points, out);
    }
  }
  return out;
}

/** What an entry does to one flag: set it, clear it, or nothing. */
function flagAction(e: Entry, flag: number): "set" | "clear" | null {
  if (flag === ATTR.rdonly) return e.mode === "read-only" || (e.mode === "bind" && e.readOnly) ? "set" : null;
  if (e.mode === "no-exec") return "set";
  return e.mode === "exec" ? "clear" : null;
}

/** Step 4: one flag on each mount of each entry that decides it, but not on those of an entry further down. */
function flagSteps(entries: Entry[], points: MountPoints, flag: number): PlannedMount[] {
  const out: PlannedMount[] = [];
  for (const e of entries) {
    const action = flagAction(e, flag);
    if (action === null) continue;
    const others = entries.filter((o) => isBelow(o.path, e.path));
    for (const point of points.within(e.path)) {
      if (others.some((o) => isBelow(point, o.path, true))) continue;
      // The entry's own mount exists unless its path was missing; those below came from mountinfo.
      const optional = point === e.path ? e.optional : true;
      const change = action === "set" ? { set: flag } : { clear: flag };
      out.push({ kind: "setattr", path: point, ...change, optional, key: e.key });
    }
  }
  return out;
}

/**
 * The steps for a sandbox, given the mount points of the host (mountinfo's fifth field,
 * unescaped); [] when nothing needs a mount namespace; a string when a path is wrong.
 */
export function planMounts(sb: Sandbox, hostMountPoints: string[]): PlannedMount[] | string {
  const raw = sandboxEntries(sb);
  if (typeof raw === "string") return raw;
  // Paths left as they are matter only below a path whose flags change.
  const entries = normalizeEntries(raw).filter((e, _, all) =>
    e.mode !== "implicit" || all.some((o) => flagAction(o, ATTR.rdonly) !== null && isBelow(e.path, o.path)));
  if (entries.length === 0) return [];
  const points = new MountPoints(hostMountPoints);
  return [
    ...mountSteps(entries, points),
    ...flagSteps(entries, points, ATTR.rdonly),
    ...flagSteps(entries, points, ATTR.noexec),
  ];
}

/** Whether the directives ask for the host's mount points (flags over mounts below a path). */
export function needsMountPoints(sb: Sandbox): boolean {
  return Boolean(sb.protectSystem || sb.protectHome === "read-only" || sb.protectKernelTunables || sb.protectControlGroups
    || sb.readOnlyPaths?.length || sb.execPaths?.length || sb.noExecPaths?.length || sb.bindReadOnlyPaths?.length);
}
